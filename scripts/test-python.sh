#!/usr/bin/env bash
# Builds the Python package (bindings-python/, dev profile) into the project-local .venv and
# runs its pytest suite. Needs only PyPI (maturin, pytest) and crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "pytest>=7"
# maturin develop: a debug build sharing target/ with the workspace, installed editable-free
# into .venv (a release wheel is what `pip install ./bindings-python` builds).
VIRTUAL_ENV="$(pwd)/$venv" "$venv/bin/maturin" develop --quiet \
  --manifest-path bindings-python/Cargo.toml
exec "$venv/bin/python" -m pytest bindings-python/tests -p no:cacheprovider
