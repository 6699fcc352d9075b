#!/usr/bin/env bash
# Regenerate the Python bindings of the SAPIENT (BSI Flex 335 v2.0) .proto files.
#
# The .proto files keep Dstl's import paths ("sapient_msg/..."), so the generated modules
# import a top-level "sapient_msg" package; the sed step points those imports into
# hotzone.ingest.sapient.proto so that the bindings live inside hotzone's package.
# Needs grpcio-tools (in the test extra): `pip install -e '.[test]'`.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
proto_root="$repo_root/src/hotzone/ingest/sapient/proto"
python="${PYTHON:-$repo_root/.venv/bin/python}"

cd "$proto_root"
find sapient_msg -name '*_pb2.py' -delete -o -name '*_pb2.pyi' -delete
"$python" -m grpc_tools.protoc \
    --proto_path=. \
    --python_out=. \
    --pyi_out=. \
    sapient_msg/proto_options.proto \
    sapient_msg/bsi_flex_335_v2_0/*.proto

find sapient_msg -name '*_pb2.py*' -print0 | xargs -0 sed -i \
    -e 's/^from sapient_msg\(\.[a-z0-9_.]*\)\{0,1\} import /from hotzone.ingest.sapient.proto.sapient_msg\1 import /'
