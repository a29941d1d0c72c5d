#!/usr/bin/env bash
# secure.sh — TLS and SASL listeners for a local Kafka broker (kafka.sh), with
# every key, certificate and password generated at run time (nothing secret is
# committed).
#
# Usage: deploy/local/secure.sh <command> DIR
#
#   prepare DIR  Create DIR (mode 0700) and, unless already done, generate in it:
#                  ca.pem ca.key              test CA (RSA 2048, 10 years)
#                  broker.pem broker.key      server cert for CN=localhost,
#                                             SAN DNS:localhost, IP:127.0.0.1
#                  broker-keystore.pem        broker.key (PKCS#8) + broker.pem,
#                                             the broker's PEM keystore
#                  client.pem client.key      client cert CN=tf-client (mTLS),
#                  client-keystore.pem        client.key + client.pem
#                  other-ca.pem other-ca.key  an unrelated CA (negative tests)
#                  credentials.env            PLAIN_USER PLAIN_PASSWORD
#                                             SCRAM_USER SCRAM_PASSWORD
#                                             EVENTHUBS_CONNECTION_STRING
#                  idp-signing.key            RS256 key of the test identity
#                                             provider (tests/support/idp.rs)
#                  idp-jwks.json idp.env      its public JWKS, tenant, issuer,
#                                             key id and accepted audiences
#                Then (re)write, for the current KAFKA_PORT:
#                  extra.properties           KAFKA_EXTRA_CONFIG for kafka.sh
#                  wronghost.pem wronghost.key a server cert for another host
#                                             name (SAN DNS:wrong-host.invalid)
#                  bootstrap.env              the bootstrap address of each listener
#                  client-*.properties        Java client configs (Kafka CLI)
#   start DIR    prepare DIR, start the instance with DIR/extra.properties
#                (restarting it if it runs with another configuration), create
#                the SCRAM-SHA-256/512 user (idempotent), then print bootstrap.env:
#                  PLAINTEXT_BOOTSTRAP=localhost:<KAFKA_PORT>
#                  SSL_BOOTSTRAP=localhost:<KAFKA_PORT+10>
#                  SASL_SSL_BOOTSTRAP=localhost:<KAFKA_PORT+20>
#   stop         Stop the instance (same as kafka.sh stop).
#
# Environment: everything kafka.sh reads (KAFKA_INSTANCE, KAFKA_PORT,
# KAFKA_CONTROLLER_PORT, TOPICFORM_CACHE, ...), plus
#   KAFKA_SSL_PORT       SSL listener (default: KAFKA_PORT+10)
#   KAFKA_WRONG_HOST_PORT  SSL listener whose certificate names another host
#                        (default: KAFKA_PORT+30; `check` names the mismatch)
#   KAFKA_SASL_PLAINTEXT_PORT  SASL_PLAINTEXT listener, PLAIN + SCRAM
#                        (default: KAFKA_PORT+40)
#   KAFKA_MTLS_PORT      SSL listener that requires a client certificate
#                        (default: KAFKA_PORT+50)
#   KAFKA_SASL_SSL_PORT  SASL_SSL listener, PLAIN + SCRAM-SHA-256/512
#                        (default: KAFKA_PORT+20)
#
# Listeners: PLAINTEXT 127.0.0.1:KAFKA_PORT; SSL 127.0.0.1:KAFKA_SSL_PORT
# (client certificate requested, not required: mTLS optional); SASL_SSL
# 127.0.0.1:KAFKA_SASL_SSL_PORT; all advertised as localhost. PLAIN users:
# tf-plain and $ConnectionString (password: the Event Hubs-style connection
# string; on SASL_PLAINTEXT the Event Hubs emulator's fixed connection string,
# EMULATOR_CONNECTION_STRING below). SCRAM-SHA-512 user: tf-scram. OAUTHBEARER on SASL_SSL: RS256 JWTs
# signed with idp-signing.key, verified by the broker against idp-jwks.json
# with the issuer and audiences of idp.env, re-authenticated as they expire.
# Needs openssl (apt-get install openssl) besides kafka.sh's prerequisites.
# Exit codes: 0 ok, 1 error, 2 usage.
set -euo pipefail

# The Event Hubs emulator's Kafka password: one fixed connection string that
# Microsoft publishes in its emulator documentation (not a secret).
EMULATOR_CONNECTION_STRING='Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;'

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_SH="$SCRIPT_DIR/kafka.sh"

INSTANCE="${KAFKA_INSTANCE:-local}"
PORT="${KAFKA_PORT:-9092}"

PLAIN_USER_NAME=tf-plain
SCRAM_USER_NAME=tf-scram
CLIENT_CN=tf-client
EVENTHUBS_NAMESPACE=etelios-test
# The test identity provider (tests/support/idp.rs reads idp.env): a fixed
# tenant, Entra's public-cloud issuer form, the audiences the broker accepts.
IDP_TENANT=0b9a5a3c-7d2e-4f61-9c1d-2f1e8a7b6c5d
IDP_AUDIENCES="https://$EVENTHUBS_NAMESPACE.servicebus.windows.net,https://etelios-prod.servicebus.windows.net,api://topicform-test-kafka"
CERT_DAYS=825
CA_DAYS=3650

log() { printf 'secure.sh[%s]: %s\n' "$INSTANCE" "$*" >&2; }
die() { printf 'secure.sh[%s]: error: %s\n' "$INSTANCE" "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo pipefail/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

valid_port() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] && (($1 < 65536)); }

settings() {
  valid_port "$PORT" || die "KAFKA_PORT must be a port number (got '$PORT')"
  SSL_PORT="${KAFKA_SSL_PORT:-$((PORT + 10))}"
  SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-$((PORT + 20))}"
  valid_port "$SSL_PORT" || die "KAFKA_SSL_PORT must be a port number (got '$SSL_PORT')"
  valid_port "$SASL_SSL_PORT" || die "KAFKA_SASL_SSL_PORT must be a port number (got '$SASL_SSL_PORT')"
  WRONG_HOST_PORT="${KAFKA_WRONG_HOST_PORT:-$((PORT + 30))}"
  valid_port "$WRONG_HOST_PORT" || die "KAFKA_WRONG_HOST_PORT must be a port number (got '$WRONG_HOST_PORT')"
  SASL_PLAINTEXT_PORT="${KAFKA_SASL_PLAINTEXT_PORT:-$((PORT + 40))}"
  valid_port "$SASL_PLAINTEXT_PORT" || die "KAFKA_SASL_PLAINTEXT_PORT must be a port number (got '$SASL_PLAINTEXT_PORT')"
  MTLS_PORT="${KAFKA_MTLS_PORT:-$((PORT + 50))}"
  valid_port "$MTLS_PORT" || die "KAFKA_MTLS_PORT must be a port number (got '$MTLS_PORT')"
  local controller="${KAFKA_CONTROLLER_PORT:-$((PORT + 2))}"
  local -A seen=()
  local p
  for p in "$PORT" "$controller" "$SSL_PORT" "$SASL_SSL_PORT" "$WRONG_HOST_PORT" "$SASL_PLAINTEXT_PORT" "$MTLS_PORT"; do
    [[ -z "${seen[$p]:-}" ]] || die "port $p is used twice (KAFKA_PORT=$PORT, controller $controller, SSL $SSL_PORT, SASL_SSL $SASL_SSL_PORT, wrong host $WRONG_HOST_PORT, SASL_PLAINTEXT $SASL_PLAINTEXT_PORT, mTLS $MTLS_PORT)"
    seen[$p]=1
  done
}

set_dir() {
  [[ -n "${1:-}" ]] || usage
  if [[ ! -d "$1" ]]; then
    mkdir -p "$1"
    chmod 700 "$1"
  fi
  DIR=$(cd "$1" && pwd)
  # DIR goes unquoted into properties files: keep it to plain path characters.
  [[ "$DIR" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "DIR must be a path of [A-Za-z0-9._/+-] characters (got '$DIR')"
}

need_openssl() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found. Install it with: apt-get install openssl (or run deploy/setup.sh)"
}

# Random [A-Za-z0-9] string of length $1.
random_alnum() {
  local out=""
  while ((${#out} < $1)); do
    out+=$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9')
  done
  printf '%s' "${out:0:$1}"
}

# ------------------------------------------------------------------ prepare

# quiet CMD...: run CMD, show its stderr only when it fails.
quiet() {
  local err
  if ! err=$("$@" 2>&1 >/dev/null); then
    printf '%s\n' "$err" >&2
    die "failed: $*"
  fi
}

# gen_ca NAME SUBJECT: NAME.key (PKCS#8) + self-signed NAME.pem in $TMP.
gen_ca() {
  quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/$1.key"
  quiet openssl req -x509 -new -key "$TMP/$1.key" -sha256 -days "$CA_DAYS" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$TMP/$1.pem"
}

# gen_leaf NAME SUBJECT EXTENSIONS: NAME.key (PKCS#8) + NAME.pem signed by ca.
gen_leaf() {
  quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/$1.key"
  quiet openssl req -new -key "$TMP/$1.key" -subj "$2" -out "$TMP/$1.csr"
  printf '%s\n' "$3" >"$TMP/$1.ext"
  quiet openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
    -CAcreateserial -CAserial "$TMP/ca.srl" -sha256 -days "$CERT_DAYS" \
    -extfile "$TMP/$1.ext" -out "$TMP/$1.pem"
  rm -f "$TMP/$1.csr" "$TMP/$1.ext"
}

# base64url without padding of stdin.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# The identity provider's RS256 key, its JWKS (n and e base64url, RFC 7518)
# and idp.env.
gen_idp_key() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found. Install it with: apt-get install python3 (or run deploy/setup.sh)"
  quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/idp-signing.key"
  local hex n kid
  hex=$(openssl rsa -in "$TMP/idp-signing.key" -noout -modulus 2>/dev/null | sed 's/^Modulus=//')
  n=$(python3 -c 'import sys,binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.argv[1]))' "$hex" | b64url)
  kid=$(printf '%s' "$n" | openssl dgst -sha256 -binary | b64url | cut -c1-22)
  printf '{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"AQAB"}]}\n' "$kid" "$n" >"$TMP/idp-jwks.json"
  cat >"$TMP/idp.env" <<EOF
IDP_TENANT=$IDP_TENANT
IDP_ISSUER=https://login.microsoftonline.com/$IDP_TENANT/v2.0
IDP_KID=$kid
IDP_AUDIENCES=$IDP_AUDIENCES
EOF
}

generate_material() {
  need_openssl
  TMP=$(mktemp -d "$DIR/.prepare.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$TMP'" EXIT
  umask 077

  gen_ca ca "/O=topicform test/CN=topicform test CA"
  gen_ca other-ca "/O=topicform test/CN=topicform unrelated CA"
  gen_leaf broker "/O=topicform test/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  gen_leaf wronghost "/O=topicform test/CN=wrong-host.invalid" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong-host.invalid
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  gen_leaf client "/O=topicform test/CN=$CLIENT_CN" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  rm -f "$TMP/ca.srl"
  gen_idp_key
  # Kafka's PEM keystore: an unencrypted PKCS#8 key, then the chain.
  # The root is not sent (like public servers): clients must trust ca.pem.
  cat "$TMP/broker.key" "$TMP/broker.pem" >"$TMP/broker-keystore.pem"
  cat "$TMP/client.key" "$TMP/client.pem" >"$TMP/client-keystore.pem"
  cat "$TMP/wronghost.key" "$TMP/wronghost.pem" >"$TMP/wronghost-keystore.pem"
  openssl verify -CAfile "$TMP/ca.pem" "$TMP/broker.pem" "$TMP/client.pem" >/dev/null ||
    die "generated certificates do not verify"

  # A SharedAccessKey is 32 random bytes in standard base64 (44 characters,
  # may contain + / =), like the keys Azure generates.
  local sas_key
  sas_key=$(openssl rand -base64 32)
  cat >"$TMP/credentials.env" <<EOF
# Generated by deploy/local/secure.sh: random test credentials of this run.
PLAIN_USER='$PLAIN_USER_NAME'
PLAIN_PASSWORD='$(random_alnum 24)'
SCRAM_USER='$SCRAM_USER_NAME'
SCRAM_PASSWORD='$(random_alnum 24)'
EVENTHUBS_CONNECTION_STRING='Endpoint=sb://$EVENTHUBS_NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=$sas_key'
EOF

  local f
  for f in ca.pem ca.key other-ca.pem other-ca.key broker.pem broker.key broker-keystore.pem \
    client.pem client.key client-keystore.pem credentials.env idp-signing.key idp-jwks.json idp.env \
    wronghost.pem wronghost.key wronghost-keystore.pem; do
    mv -f "$TMP/$f" "$DIR/$f"
  done
  chmod 644 "$DIR/ca.pem" "$DIR/other-ca.pem" "$DIR/broker.pem" "$DIR/client.pem" "$DIR/idp-jwks.json" "$DIR/idp.env"
  : >"$DIR/.prepared"
  rm -rf "$TMP"
  trap - EXIT
  log "generated CA, certificates and credentials in $DIR"
}

# Values for the JAAS/properties files; they never contain quotes, backslashes
# or newlines (checked), so they can be embedded in "..." as they are.
load_credentials() {
  # shellcheck disable=SC1091
  source "$DIR/credentials.env"
  local v
  for v in "$PLAIN_PASSWORD" "$SCRAM_PASSWORD" "$EVENTHUBS_CONNECTION_STRING"; do
    [[ "$v" =~ ^[A-Za-z0-9+/=:.\;_-]+$ ]] || die "unexpected characters in $DIR/credentials.env; delete $DIR and prepare again"
  done
}

write_configs() {
  load_credentials
  local plain_module=org.apache.kafka.common.security.plain.PlainLoginModule
  local scram_module=org.apache.kafka.common.security.scram.ScramLoginModule
  umask 077
  cat >"$DIR/extra.properties.$$" <<EOF
# Generated by deploy/local/secure.sh for KAFKA_PORT=$PORT: use as
# KAFKA_EXTRA_CONFIG of deploy/local/kafka.sh (overrides its listener keys).
listeners=PLAINTEXT://127.0.0.1:@KAFKA_PORT@,CONTROLLER://127.0.0.1:@KAFKA_CONTROLLER_PORT@,SSL://127.0.0.1:$SSL_PORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT,WRONGHOST://127.0.0.1:$WRONG_HOST_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PLAINTEXT_PORT,MTLS://127.0.0.1:$MTLS_PORT
advertised.listeners=PLAINTEXT://localhost:@KAFKA_PORT@,SSL://localhost:$SSL_PORT,SASL_SSL://localhost:$SASL_SSL_PORT,WRONGHOST://localhost:$WRONG_HOST_PORT,SASL_PLAINTEXT://localhost:$SASL_PLAINTEXT_PORT,MTLS://localhost:$MTLS_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,WRONGHOST:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL
inter.broker.listener.name=PLAINTEXT

# TLS (SSL and SASL_SSL listeners): PEM keystore, unencrypted PKCS#8 key.
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/ca.pem
ssl.enabled.protocols=TLSv1.2,TLSv1.3
# SSL listener: a client certificate is verified when sent (mTLS), not required.
listener.name.ssl.ssl.client.auth=requested
listener.name.sasl_ssl.ssl.client.auth=none
# WRONGHOST: valid chain, certificate for another host name.
listener.name.wronghost.ssl.keystore.type=PEM
listener.name.wronghost.ssl.keystore.location=$DIR/wronghost-keystore.pem
# MTLS: like SSL, but a client certificate signed by the CA is required.
listener.name.mtls.ssl.client.auth=required

# ACLs (KRaft's StandardAuthorizer): everything is allowed where no ACL
# exists, so only tests that add an ACL to their own topic see a denial.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS

# SASL_SSL listener: PLAIN (static users) and SCRAM-SHA-512 (users in the
# cluster metadata, created by 'secure.sh start').
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain_module required user_$PLAIN_USER="$PLAIN_PASSWORD" user_\$ConnectionString="$EVENTHUBS_CONNECTION_STRING";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram_module required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram_module required;
# SASL_PLAINTEXT listener (credentials in clear: closed networks only): the
# same PLAIN and SCRAM users, and the Event Hubs emulator's Kafka endpoint as
# Microsoft documents it: PLAIN user \$ConnectionString with the emulator's
# fixed, published connection string as its password.
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=$plain_module required user_$PLAIN_USER="$PLAIN_PASSWORD" user_\$ConnectionString="$EMULATOR_CONNECTION_STRING";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram_module required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram_module required;

# OAUTHBEARER: JWTs of the test identity provider. BrokerJwtValidator checks
# the signature against the JWKS (without it Kafka's default validator
# accepts unsigned tokens), the issuer and the audience. Re-authentication
# (KIP-368) makes a connection end with its token, so refresh is exercised.
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
listener.name.sasl_ssl.sasl.oauthbearer.jwt.validator.class=org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator
listener.name.sasl_ssl.oauthbearer.connections.max.reauth.ms=3600000
sasl.oauthbearer.jwks.endpoint.url=file://$DIR/idp-jwks.json
sasl.oauthbearer.expected.issuer=https://login.microsoftonline.com/$IDP_TENANT/v2.0
sasl.oauthbearer.expected.audience=$IDP_AUDIENCES
EOF
  mv -f "$DIR/extra.properties.$$" "$DIR/extra.properties"

  cat >"$DIR/bootstrap.env" <<EOF
PLAINTEXT_BOOTSTRAP=localhost:$PORT
SSL_BOOTSTRAP=localhost:$SSL_PORT
SASL_SSL_BOOTSTRAP=localhost:$SASL_SSL_PORT
WRONG_HOST_BOOTSTRAP=localhost:$WRONG_HOST_PORT
SASL_PLAINTEXT_BOOTSTRAP=localhost:$SASL_PLAINTEXT_PORT
MTLS_BOOTSTRAP=localhost:$MTLS_PORT
EOF
  chmod 644 "$DIR/bootstrap.env"

  # Java client configs for the Kafka CLI tools (kafka.sh tool ... --command-config).
  local tls="ssl.truststore.type=PEM
ssl.truststore.location=$DIR/ca.pem"
  printf 'security.protocol=SSL\n%s\n' "$tls" >"$DIR/client-ssl.properties"
  printf 'security.protocol=SSL\n%s\nssl.keystore.type=PEM\nssl.keystore.location=%s\n' \
    "$tls" "$DIR/client-keystore.pem" >"$DIR/client-mtls.properties"
  printf 'security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' \
    "$DIR/other-ca.pem" >"$DIR/client-ssl-other-ca.properties"
  printf 'security.protocol=SASL_SSL\n%s\nsasl.mechanism=PLAIN\nsasl.jaas.config=%s required username="%s" password="%s";\n' \
    "$tls" "$plain_module" "$PLAIN_USER" "$PLAIN_PASSWORD" >"$DIR/client-plain.properties"
  # shellcheck disable=SC2016 # the literal user name $ConnectionString
  printf 'security.protocol=SASL_SSL\n%s\nsasl.mechanism=PLAIN\nsasl.jaas.config=%s required username="$ConnectionString" password="%s";\n' \
    "$tls" "$plain_module" "$EVENTHUBS_CONNECTION_STRING" >"$DIR/client-connstr.properties"
  printf 'security.protocol=SASL_SSL\n%s\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=%s required username="%s" password="%s";\n' \
    "$tls" "$scram_module" "$SCRAM_USER" "$SCRAM_PASSWORD" >"$DIR/client-scram.properties"
}

cmd_prepare() {
  settings
  set_dir "${1:-}"
  if [[ ! -f "$DIR/.prepared" || ! -f "$DIR/idp.env" || ! -f "$DIR/wronghost.pem" ]]; then
    command -v flock >/dev/null 2>&1 || die "'flock' not found. Install it with: apt-get install util-linux"
    exec 7>"$DIR/.lock"
    flock -w 120 7 || die "timed out waiting for the lock $DIR/.lock"
    [[ -f "$DIR/.prepared" && -f "$DIR/idp.env" && -f "$DIR/wronghost.pem" ]] || generate_material
    write_configs
    exec 7>&-
  else
    write_configs
  fi
}

# -------------------------------------------------------------------- start

add_scram_user() {
  local cfg="$DIR/.scram-user.$$.properties" out i mechanism
  # One mechanism per request (Kafka refuses two changes of one user's
  # credentials in a request). The password goes through a file, not the
  # command line (visible in ps).
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    (umask 077 && printf '%s=iterations=4096,password=%s\n' "$mechanism" "$SCRAM_PASSWORD" >"$cfg")
    if ! out=$("$KAFKA_SH" tool kafka.admin.ConfigCommand --bootstrap-server "localhost:$PORT" \
      --alter --add-config-file "$cfg" --entity-type users --entity-name "$SCRAM_USER" 2>&1); then
      rm -f "$cfg"
      # ConfigCommand echoes an invalid credential, password included: redact.
      printf '%s\n' "${out//"$SCRAM_PASSWORD"/<redacted>}" >&2
      die "could not create the $mechanism user $SCRAM_USER"
    fi
    rm -f "$cfg"
  done
  # Wait until the broker serves the credentials (metadata propagation).
  for ((i = 0; i < 40; i++)); do
    out=$("$KAFKA_SH" tool kafka.admin.ConfigCommand --bootstrap-server "localhost:$PORT" \
      --describe --entity-type users --entity-name "$SCRAM_USER" 2>/dev/null || true)
    if [[ "$out" == *SCRAM-SHA-256* && "$out" == *SCRAM-SHA-512* ]]; then
      log "SCRAM-SHA-256/512 user $SCRAM_USER ready"
      return 0
    fi
    sleep 0.25
  done
  die "SCRAM user $SCRAM_USER not visible after creation"
}

port_open() {
  # shellcheck disable=SC2016
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" </dev/null >/dev/null 2>&1
}

kafka_start() {
  local err rc=0
  err=$(mktemp)
  # Kafka reads OAUTHBEARER URLs (the JWKS file) only when allowed by name.
  KAFKA_EXTRA_JVM_OPTS="${KAFKA_EXTRA_JVM_OPTS:-} -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://$DIR/idp-jwks.json" \
    KAFKA_EXTRA_CONFIG="$DIR/extra.properties" "$KAFKA_SH" start 2>"$err" >/dev/null 6>&- || rc=$?
  cat "$err" >&2
  if ((rc != 0)); then
    rm -f "$err"
    die "kafka.sh start failed"
  fi
  if grep -q 'started with a different configuration' "$err"; then
    rm -f "$err"
    return 3
  fi
  rm -f "$err"
}

cmd_start() {
  cmd_prepare "${1:-}"
  load_credentials
  # One start at a time per DIR, so that concurrent callers cannot stop each
  # other's freshly restarted broker. Every kafka.sh call gets 6>&- so that
  # the detached broker does not inherit (and hold) this lock.
  command -v flock >/dev/null 2>&1 || die "'flock' not found. Install it with: apt-get install util-linux"
  exec 6>"$DIR/.start.lock"
  flock -w 300 6 || die "timed out waiting for the lock $DIR/.start.lock"
  local rc=0
  kafka_start || rc=$?
  if ((rc == 3)); then
    log "instance '$INSTANCE' runs with another configuration; restarting it with $DIR/extra.properties"
    "$KAFKA_SH" stop 6>&-
    kafka_start || die "kafka.sh start did not apply $DIR/extra.properties"
  fi
  local p
  for p in "$SSL_PORT" "$SASL_SSL_PORT" "$WRONG_HOST_PORT" "$SASL_PLAINTEXT_PORT" "$MTLS_PORT"; do
    port_open "$p" || die "the broker does not listen on 127.0.0.1:$p (see: KAFKA_INSTANCE=$INSTANCE $KAFKA_SH logs)"
  done
  add_scram_user
  exec 6>&-
  cat "$DIR/bootstrap.env"
}

main() {
  (($# >= 1)) || usage
  local cmd="$1"
  shift
  case "$cmd" in
    prepare) (($# == 1)) || usage; cmd_prepare "$1" ;;
    start) (($# == 1)) || usage; cmd_start "$1" ;;
    stop) exec "$KAFKA_SH" stop ;;
    -h | --help | help) usage 0 ;;
    *)
      printf 'secure.sh: unknown command: %s\n' "$cmd" >&2
      usage
      ;;
  esac
}

main "$@"
