#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test through ctest,
# including the ml_dtypes oracle from a virtual environment inside the build folder.
source "$(dirname "$0")/scripts/setup.sh"

venv="$SWALP_BUILD_DIR/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ml_dtypes" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ml_dtypes
fi

swalp_build -DSWALP_BUILD_TESTS=ON -DSWALP_ORACLE_PYTHON="$venv/bin/python"
cd "$SWALP_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
