#!/usr/bin/env bash
# The local Flink image's entrypoint: what the official image's docker-entrypoint.sh, jobmanager.sh/taskmanager.sh
# and flink-console.sh do, in one file, for an image built from Maven Central artifacts (no flink-dist, no bin/).
#
#   flink-entrypoint.sh jobmanager|taskmanager [-D key=value ...]
#
# Reads FLINK_HOME (default /opt/flink), FLINK_CONF_DIR (default $FLINK_HOME/conf), FLINK_LOG_DIR (default
# $FLINK_HOME/log), FLINK_PLUGINS_DIR (default $FLINK_HOME/plugins), JOB_MANAGER_RPC_ADDRESS (default the host
# name, as the official image), JAVA_HOME or java on PATH. The configuration file is only read, never rewritten:
# the pod mounts it read-only, byte for byte what EKS gets.
set -euo pipefail

role="${1:-}"
case "$role" in
  jobmanager)
    main_class=org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint
    resource_command=GET_JM_RESOURCE_PARAMS
    service=standalonesession
    ;;
  taskmanager)
    main_class=org.apache.flink.runtime.taskexecutor.TaskManagerRunner
    resource_command=GET_TM_RESOURCE_PARAMS
    service=taskexecutor
    ;;
  *)
    echo "usage: $0 jobmanager|taskmanager [-D key=value ...]" >&2
    exit 64
    ;;
esac
shift

export FLINK_HOME="${FLINK_HOME:-/opt/flink}"
export FLINK_CONF_DIR="${FLINK_CONF_DIR:-$FLINK_HOME/conf}"
export FLINK_LOG_DIR="${FLINK_LOG_DIR:-$FLINK_HOME/log}"
export FLINK_PLUGINS_DIR="${FLINK_PLUGINS_DIR:-$FLINK_HOME/plugins}"
if [[ -n "${JAVA_HOME:-}" ]]; then java_run="$JAVA_HOME/bin/java"; else java_run=java; fi

# 1.x reads flink-conf.yaml when present, 2.x only config.yaml; the pod mounts the one its version reads.
if [[ -f "$FLINK_CONF_DIR/flink-conf.yaml" ]]; then
  conf_file="$FLINK_CONF_DIR/flink-conf.yaml"
elif [[ -f "$FLINK_CONF_DIR/config.yaml" ]]; then
  conf_file="$FLINK_CONF_DIR/config.yaml"
else
  echo "flink-entrypoint: no flink-conf.yaml or config.yaml in $FLINK_CONF_DIR" >&2
  exit 78
fi

# The value of a top-level `key: value` line, unquoted; what config.sh's readFromConfig does for flat keys, and
# the platform renders every key flat (2.x's config.yaml included).
read_config() {
  local key="$1" value
  value="$(grep -E "^[[:space:]]*${key//./\\.}[[:space:]]*:" "$conf_file" | tail -n 1 | sed -E 's/^[^:]*:[[:space:]]*//; s/[[:space:]]+$//')" || true
  value="${value#\"}"
  value="${value%\"}"
  value="${value#\'}"
  value="${value%\'}"
  printf '%s' "$value"
}

java_opts="$(read_config env.java.opts.all)"
[[ -n "$java_opts" ]] || java_opts="$(read_config env.java.opts)"
java_opts="-XX:+IgnoreUnrecognizedVMOptions $java_opts $(read_config "env.java.opts.$role")"

# The official entrypoint's options (docker-entrypoint.sh set_common_options), as dynamic properties.
dynamic=(
  -D "jobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f 2>/dev/null || hostname)}"
  -D blob.server.port=6124
  -D query.server.port=6125
)
# Later -D options win: what the pod's args add overrides the entrypoint's.
dynamic+=("$@")

classpath="$FLINK_HOME/lib/*"

# JVM memory flags and the derived memory options, exactly as jobmanager.sh/taskmanager.sh get them.
utils_output="$("$java_run" -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  "-Dlogback.configurationFile=file:$FLINK_CONF_DIR/logback-console.xml" \
  -classpath "$classpath" org.apache.flink.runtime.util.bash.BashJavaUtils "$resource_command" \
  --configDir "$FLINK_CONF_DIR" "${dynamic[@]}" 2>&1)" || {
  printf '%s\n' "$utils_output" >&2
  echo "flink-entrypoint: BashJavaUtils $resource_command failed" >&2
  exit 1
}
results="$(printf '%s\n' "$utils_output" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p')"
if [[ "$(printf '%s\n' "$results" | grep -c '')" -lt 2 ]]; then
  printf '%s\n' "$utils_output" >&2
  echo "flink-entrypoint: BashJavaUtils $resource_command printed no JVM parameters and dynamic configs" >&2
  exit 1
fi
jvm_params="$(printf '%s\n' "$results" | sed -n 1p)"
# shellcheck disable=SC2206 # The derived options are `-D key=value` words without spaces.
memory_dynamic=($(printf '%s\n' "$results" | sed -n 2p))

mkdir -p "$FLINK_LOG_DIR" 2>/dev/null || true
log_file="$FLINK_LOG_DIR/flink-$(id -un 2>/dev/null || id -u)-$service-0-$(hostname).log"

# shellcheck disable=SC2086 # JVM parameters and env.java.opts are space-separated word lists, as in flink-console.sh.
exec "$java_run" $jvm_params $java_opts \
  "-Dlog.file=$log_file" \
  "-Dlogback.configurationFile=file:$FLINK_CONF_DIR/logback-console.xml" \
  -classpath "$classpath" "$main_class" --configDir "$FLINK_CONF_DIR" "${dynamic[@]}" "${memory_dynamic[@]}"
