// A kafkajs 2.2.4 client set up the way the example platform's shared Kafka
// service sets one up: the connection from the KAFKA_* variables `topicform
// env` prints, the library's settings from the module `topicform env --client
// kafkajs` prints (KAFKA_CLIENT_CONFIG), spread into kafkajs' own options.
// It produces one message to TOPIC and consumes it back in GROUP, then prints
// one JSON line with what it did. Run by tests/kafkajs.rs; exits 1 on failure.
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main() {
  const settings = require(need('KAFKA_CLIENT_CONFIG'));
  const protocol = need('KAFKA_SECURITY_PROTOCOL');
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const ssl = tls
    ? (process.env.KAFKA_SSL_CA_LOCATION ? { ca: [fs.readFileSync(process.env.KAFKA_SSL_CA_LOCATION, 'utf8')] } : true)
    : false;
  const sasl = process.env.KAFKA_SASL_MECHANISM
    ? {
        mechanism: process.env.KAFKA_SASL_MECHANISM.toLowerCase(),
        username: need('KAFKA_SASL_USERNAME'),
        password: need('KAFKA_SASL_PASSWORD'),
      }
    : undefined;
  const topic = need('TOPIC');
  const value = `topicform kafkajs round trip ${Date.now()}`;

  const kafka = new Kafka({
    ...settings.client,
    clientId: 'topicform-kafkajs-roundtrip',
    brokers: need('KAFKA_BROKERS').split(','),
    ssl,
    sasl,
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({ ...settings.producer });
  const consumer = kafka.consumer({ ...settings.consumer, groupId: need('GROUP') });

  await producer.connect();
  const [sent] = await producer.send({ topic, messages: [{ key: 'k', value }] });
  await producer.disconnect();

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message back from ${topic} within 60 s`)), 60000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          if (message.value.toString() === value) {
            clearTimeout(timer);
            resolve({ partition, offset: message.offset });
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ sent: { partition: sent.partition, offset: sent.baseOffset }, received, settings }));
}

main().catch((e) => {
  console.error(`kafkajs round trip failed: ${e.stack || e}`);
  process.exit(1);
});
