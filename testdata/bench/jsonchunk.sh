#!/usr/bin/env bash
# jsonchunk benchmark (issue 6): 1 GiB in fast mode and 100 MiB in the seed's
# strict mode (base64 in JSON), each beside a bare Go TLS 1.3 file copy
# measured in the same run, through the real binaries (transfer.sh). Prints
# MB/s and the ratios. RUNS (default 3) per size; FAST_MIB and STRICT_MIB
# change the sizes. Needs `make build` first. Only 127.0.0.1 is used.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
echo "== fast mode"
PROTOCOL=jsonchunk MODE=fast SIZE_MIB=${FAST_MIB:-1024} bash "$here/transfer.sh"
echo
echo "== strict mode (seed wire: base64 data in JSON)"
PROTOCOL=jsonchunk MODE=strict SIZE_MIB=${STRICT_MIB:-100} bash "$here/transfer.sh"
