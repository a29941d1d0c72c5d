#!/usr/bin/env bash
# kafka.sh — a local Apache Kafka broker for topicform, without Docker.
#
# Usage: deploy/local/kafka.sh <command> [args]
#
#   fetch       Resolve the pinned Kafka jars (deploy/local/pom.xml) and all
#               runtime dependencies from Maven Central into the cache.
#               No-op when already cached.
#   start       Start the instance in the background if it is not running
#               (fetching and formatting storage first when needed), wait
#               until it is ready, then print its bootstrap address on stdout.
#               Idempotent and safe to run concurrently (flock). A broker of
#               the instance running on another port is restarted on this one.
#   stop        SIGTERM, wait, then SIGKILL. No-op when not running.
#   status      Exit 0 and print pid/bootstrap when running (on KAFKA_PORT if
#               set, else on the port it was started with); exit 3 if not.
#   logs [-f|N] Print the last N (default 200) lines of server.log; -f follows.
#   bootstrap   Print the bootstrap address (localhost:$KAFKA_PORT).
#   classpath   Print the Java classpath of the cached jars ("<libs>/*").
#   tool CLASS [ARGS...]
#               Run a Java main class from the cached jars, e.g.
#               tool org.apache.kafka.tools.TopicCommand \
#                    --bootstrap-server localhost:9092 --list
#
# Environment:
#   TOPICFORM_CACHE        cache root (default: <repo>/.cache)
#   KAFKA_INSTANCE         instance name (default: local); state lives in
#                          $TOPICFORM_CACHE/run/<instance>/
#   KAFKA_PORT             PLAINTEXT client listener on 127.0.0.1, advertised as
#                          localhost:$KAFKA_PORT (default: 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener (default: KAFKA_PORT+2)
#   KAFKA_EXTRA_CONFIG     properties file appended to the generated
#                          server.properties (later keys win); the tokens
#                          @KAFKA_PORT@ @KAFKA_CONTROLLER_PORT@ @KAFKA_STATE_DIR@
#                          are substituted
#   KAFKA_EXTRA_JVM_OPTS   extra JVM options (whitespace separated)
#   KAFKA_HEAP_OPTS        heap options (default: -Xms256m -Xmx768m)
#   KAFKA_RESET=1          with start: stop the instance and wipe its data first
#   KAFKA_START_TIMEOUT    readiness timeout in seconds (default: 90)
#   KAFKA_VERSION          override the version pinned in pom.xml
#   JAVA_HOME              Java 17+ to use (default: java on PATH)
#
# Readiness (start): the broker process is alive, its log says
# "Kafka Server started" and 127.0.0.1:$KAFKA_PORT accepts TCP connections.
# Exit codes: 0 ok, 1 error, 2 usage, 3 not running (status).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
POM="$SCRIPT_DIR/pom.xml"

CACHE="${TOPICFORM_CACHE:-$REPO_ROOT/.cache}"
case "$CACHE" in
  /*) ;;
  *) CACHE="$PWD/$CACHE" ;;
esac

KAFKA_VERSION="${KAFKA_VERSION:-$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM" | head -n 1)}"
INSTANCE="${KAFKA_INSTANCE:-local}"
PORT="${KAFKA_PORT:-9092}"

KAFKA_HOME_DIR="$CACHE/kafka/$KAFKA_VERSION"
LIBS="$KAFKA_HOME_DIR/libs"
FETCH_MARKER="$KAFKA_HOME_DIR/.fetched"

STATE="$CACHE/run/$INSTANCE"
DATA="$STATE/data"
PROPS="$STATE/server.properties"
LOG4J="$STATE/log4j2.properties"
LOG="$STATE/server.log"
PIDFILE="$STATE/kafka.pid"
PORTFILE="$STATE/kafka.port"
LOCKFILE="$STATE/lock"

READY_MESSAGE="Kafka Server started"

log() { printf 'kafka.sh[%s]: %s\n' "$INSTANCE" "$*" >&2; }
die() { printf 'kafka.sh[%s]: error: %s\n' "$INSTANCE" "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo pipefail/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

valid_port() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] && (($1 < 65536)); }

validate_settings() {
  [[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
  [[ "$INSTANCE" =~ ^[A-Za-z0-9._-]+$ ]] || die "KAFKA_INSTANCE must match [A-Za-z0-9._-]+ (got '$INSTANCE')"
  valid_port "$PORT" || die "KAFKA_PORT must be a port number (got '$PORT')"
  CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 2))}"
  valid_port "$CONTROLLER_PORT" || die "KAFKA_CONTROLLER_PORT must be a port number (got '$CONTROLLER_PORT')"
  ((CONTROLLER_PORT != PORT)) || die "KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT"
}

bootstrap_address() { printf 'localhost:%s\n' "$PORT"; }

# ---------------------------------------------------------------- prerequisites

JAVA=""
need_java() {
  [[ -n "$JAVA" ]] && return 0
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA=$(command -v java)
  else
    die "Java 17+ not found. Install it with: apt-get install openjdk-17-jre-headless"
  fi
  local spec
  spec=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1)
  spec="${spec#1.}"
  if ! [[ "$spec" =~ ^[0-9]+$ ]] || ((spec < 17)); then
    die "Kafka $KAFKA_VERSION needs Java 17+, but $JAVA is Java '${spec:-unknown}'. Install it with: apt-get install openjdk-17-jre-headless"
  fi
}

need_mvn() {
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) not found; it is needed to fetch the Kafka jars. Install it with: apt-get install maven"
}

need_util_linux() {
  local tool
  for tool in flock setsid timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found. Install it with: apt-get install util-linux coreutils"
  done
}

# ------------------------------------------------------------------------ fetch

cmd_fetch() {
  if [[ -f "$FETCH_MARKER" ]]; then
    log "Kafka $KAFKA_VERSION already cached in $LIBS"
    return 0
  fi
  need_java
  need_mvn
  need_util_linux
  mkdir -p "$KAFKA_HOME_DIR"
  exec 8>"$KAFKA_HOME_DIR/.fetch.lock"
  flock -w 900 8 || die "timed out waiting for another fetch of Kafka $KAFKA_VERSION"
  if [[ -f "$FETCH_MARKER" ]]; then # fetched by a concurrent caller meanwhile
    exec 8>&-
    return 0
  fi
  log "fetching Kafka $KAFKA_VERSION and its dependencies from Maven Central ..."
  local tmp="$KAFKA_HOME_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  # (sed strips the stray ANSI resets Maven 3.8 prints even in batch mode)
  if ! mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "mvn could not resolve Kafka $KAFKA_VERSION (see the Maven output above)"
  fi
  local jar
  for jar in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-server-$KAFKA_VERSION.jar" \
    "kafka-clients-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$jar" ]] || { rm -rf "$tmp"; die "fetch incomplete: $jar missing"; }
  done
  compgen -G "$tmp/log4j-core-*.jar" >/dev/null || { rm -rf "$tmp"; die "fetch incomplete: log4j-core missing"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  printf 'version=%s\nfetched=%s\njars=%s\n' "$KAFKA_VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(find "$LIBS" -name '*.jar' | wc -l)" >"$FETCH_MARKER"
  exec 8>&-
  log "Kafka $KAFKA_VERSION cached in $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars)"
}

# ------------------------------------------------------------- process helpers

# Prints the broker pid if the pid file names a live broker of this instance.
broker_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be our broker.
  local args
  if [[ -r "/proc/$pid/cmdline" ]]; then
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    args=$(ps -p "$pid" -o args= 2>/dev/null) || return 1
  fi
  [[ "$args" == *kafka.Kafka*"$PROPS"* ]] || return 1
  printf '%s\n' "$pid"
}

port_open() {
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" </dev/null >/dev/null 2>&1
}

# is_ready [PORT]: the broker is alive, has logged its start and PORT (default
# KAFKA_PORT) accepts connections.
is_ready() {
  broker_pid >/dev/null && [[ -f "$LOG" ]] && grep -qF "$READY_MESSAGE" "$LOG" && port_open "${1:-$PORT}"
}

# The client port the running broker was launched with (empty if unknown).
launched_port() {
  if [[ -f "$PORTFILE" ]]; then cat "$PORTFILE"; fi
}

lock_instance() {
  need_util_linux
  mkdir -p "$STATE"
  exec 9>"$LOCKFILE"
  flock -w 300 9 || die "timed out waiting for the lock $LOCKFILE"
}

unlock_instance() { exec 9>&-; }

print_log_tail() {
  if [[ -f "$LOG" ]]; then
    printf -- '----- last 40 lines of %s -----\n' "$LOG" >&2
    tail -n 40 "$LOG" >&2
    printf -- '----- end of %s -----\n' "$LOG" >&2
  fi
}

# Stops the broker; caller holds the lock.
stop_locked() {
  local pid timeout="${KAFKA_STOP_TIMEOUT:-30}"
  if ! pid=$(broker_pid); then
    rm -f "$PIDFILE" "$PORTFILE"
    return 1
  fi
  log "stopping broker (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not exit within ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE" "$PORTFILE"
  log "stopped"
  return 0
}

# ------------------------------------------------------------------ config

write_config() {
  local out="$1"
  cat >"$out" <<EOF
# Generated by deploy/local/kafka.sh for instance '$INSTANCE'. Do not edit:
# it is rewritten on every start. Use KAFKA_EXTRA_CONFIG to add settings.

# Single combined KRaft node (broker + controller).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER

listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://localhost:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL

log.dirs=$DATA

# One node: every internal topic has replication factor 1.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=10
group.initial.rebalance.delay.ms=0

# Small machine (2 cores shared with cargo builds).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if [[ -n "${KAFKA_EXTRA_CONFIG:-}" ]]; then
    [[ -f "$KAFKA_EXTRA_CONFIG" ]] || die "KAFKA_EXTRA_CONFIG=$KAFKA_EXTRA_CONFIG: no such file"
    {
      printf '\n# ---- appended from KAFKA_EXTRA_CONFIG=%s ----\n' "$KAFKA_EXTRA_CONFIG"
      sed -e "s|@KAFKA_PORT@|$PORT|g" \
        -e "s|@KAFKA_CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@KAFKA_STATE_DIR@|$STATE|g" "$KAFKA_EXTRA_CONFIG"
      printf '\n'
    } >>"$out"
  fi
}

write_log4j() {
  cat >"$1" <<'EOF'
# Generated by deploy/local/kafka.sh: everything to stdout (-> server.log).
status = warn
name = topicform-local-kafka
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.requestchannel.name = kafka.network.RequestChannel$
logger.requestchannel.level = WARN
EOF
}

tools_log4j() {
  local f="$KAFKA_HOME_DIR/tools-log4j2.properties"
  if [[ ! -f "$f" ]]; then
    cat >"$f.$$" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
    mv -f "$f.$$" "$f"
  fi
  printf '%s\n' "$f"
}

new_cluster_id() {
  # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding. Like
  # Kafka's own Uuid.randomUuid(), never one starting with '-': the storage
  # tool would read it as an option (seen: "expected one argument").
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && break
  done
  printf '%s\n' "$id"
}

format_storage() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  local cluster_id
  cluster_id=$(new_cluster_id)
  mkdir -p "$DATA"
  log "formatting storage in $DATA (cluster id $cluster_id)"
  if ! "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$LIBS/*" \
    kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$PROPS" \
    </dev/null >>"$LOG" 2>&1; then
    print_log_tail
    rm -rf "$DATA"
    die "formatting the storage failed"
  fi
}

# ---------------------------------------------------------------- commands

wait_ready() {
  local pid="$1" timeout="${KAFKA_START_TIMEOUT:-90}"
  local deadline=$((SECONDS + timeout))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker process $pid exited during startup"
      return 1
    fi
    if grep -qF "$READY_MESSAGE" "$LOG" 2>/dev/null && port_open "$PORT"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "broker not ready after ${timeout}s"
      return 1
    fi
    sleep 0.25
  done
}

cmd_start() {
  need_java
  [[ -f "$FETCH_MARKER" ]] || cmd_fetch
  lock_instance

  local pid
  if [[ "${KAFKA_RESET:-0}" == 1 ]]; then
    stop_locked || true
    log "KAFKA_RESET=1: wiping $DATA"
    rm -rf "$DATA"
  fi

  mkdir -p "$STATE"
  local candidate="$STATE/server.properties.next"
  write_config "$candidate"

  if pid=$(broker_pid); then
    local running_port
    running_port=$(launched_port)
    if [[ -n "$running_port" && "$running_port" != "$PORT" ]]; then
      log "instance '$INSTANCE' runs on port $running_port, not $PORT; restarting it"
      stop_locked || true
    elif ! is_ready; then
      log "broker (pid $pid) is running but not ready yet; waiting ..."
      if ! wait_ready "$pid"; then
        log "restarting it"
        stop_locked || true
      fi
    fi
    if pid=$(broker_pid) && is_ready; then
      if ! cmp -s "$candidate" "$PROPS"; then
        log "warning: the running broker was started with a different configuration; run 'stop' then 'start' to apply it"
      fi
      rm -f "$candidate"
      unlock_instance
      bootstrap_address
      return 0
    fi
  fi

  rm -f "$PIDFILE" "$PORTFILE"
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $p on 127.0.0.1 is already in use by another process (another instance on the same ports?)"
    fi
  done

  mv -f "$candidate" "$PROPS"
  write_log4j "$LOG4J"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  : >"$LOG"
  format_storage

  local heap_opts extra_opts
  read -r -a heap_opts <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
  read -r -a extra_opts <<<"${KAFKA_EXTRA_JVM_OPTS:-}"
  local jvm_opts=(
    -server "${heap_opts[@]}"
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
    -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$LOG4J"
    -Dkafka.logs.dir="$STATE"
    "${extra_opts[@]}"
  )

  log "starting Kafka $KAFKA_VERSION on localhost:$PORT (controller 127.0.0.1:$CONTROLLER_PORT), log: $LOG"
  # Detached: own session, no stdin, output to the log, lock fds closed, so
  # neither the caller's pipes nor our flock stay held by the broker. The
  # inner shell records its pid and then execs java (same pid).
  # shellcheck disable=SC2016
  nohup setsid bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$PIDFILE" \
    "$JAVA" "${jvm_opts[@]}" -cp "$LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$LOG" 2>&1 8>&- 9>&- &

  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.05
  done
  pid=$(<"$PIDFILE") || die "broker did not record its pid"
  printf '%s\n' "$PORT" >"$PORTFILE"

  local started=$SECONDS
  if ! wait_ready "$pid"; then
    print_log_tail
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE" "$PORTFILE"
    die "Kafka did not become ready on localhost:$PORT (state: $STATE)"
  fi
  log "ready in $((SECONDS - started))s (pid $pid)"
  unlock_instance
  bootstrap_address
}

cmd_stop() {
  lock_instance
  stop_locked || log "not running"
  unlock_instance
}

# Without KAFKA_PORT, the instance is checked on the port it was started with.
cmd_status() {
  local pid port="$PORT"
  if pid=$(broker_pid); then
    if [[ -z "${KAFKA_PORT:-}" && -n "$(launched_port)" ]]; then
      port=$(launched_port)
    fi
    if is_ready "$port"; then
      printf 'running pid=%s bootstrap=localhost:%s state=%s\n' "$pid" "$port" "$STATE"
      return 0
    fi
    if [[ -n "$(launched_port)" && "$(launched_port)" != "$port" ]]; then
      printf 'not running on port %s (instance %s runs on port %s, pid %s)\n' "$port" "$INSTANCE" "$(launched_port)" "$pid"
    else
      printf 'not ready pid=%s (starting or unhealthy; see %s)\n' "$pid" "$LOG"
    fi
    return 3
  fi
  printf 'not running\n'
  return 3
}

cmd_logs() {
  [[ -f "$LOG" ]] || die "no log yet at $LOG"
  case "${1:-}" in
    -f) exec tail -n 200 -F "$LOG" ;;
    '') tail -n 200 "$LOG" ;;
    *)
      [[ "$1" =~ ^[0-9]+$ ]] || usage
      tail -n "$1" "$LOG"
      ;;
  esac
}

cmd_tool() {
  (($# >= 1)) || usage
  need_java
  [[ -f "$FETCH_MARKER" ]] || cmd_fetch
  local cls="$1"
  shift
  exec "$JAVA" -Xmx512m -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$LIBS/*" "$cls" "$@"
}

main() {
  (($# >= 1)) || usage
  local cmd="$1"
  shift
  validate_settings
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    bootstrap) bootstrap_address ;;
    classpath) printf '%s/*\n' "$LIBS" ;;
    tool) cmd_tool "$@" ;;
    -h | --help | help) usage 0 ;;
    *)
      printf 'kafka.sh: unknown command: %s\n' "$cmd" >&2
      usage
      ;;
  esac
}

main "$@"
