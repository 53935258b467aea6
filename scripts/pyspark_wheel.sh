#!/usr/bin/env bash
# Install pyspark VERSION into the venv of PYTHON from a wheel kept in .cache/wheels/.
#
#   scripts/pyspark_wheel.sh .venv-test/bin/python 4.3.0
#
# PyPI has pyspark as an sdist only (~456 MB), from which pip builds a wheel: downloading and
# building it took 28-54 s on the development machine, installing the built wheel 5 s. The
# first run builds it once (pip wheel, which uses pip's own caches when they have it) into
# .cache/wheels/pyspark-VERSION-*.whl (git-ignored, shared by the worktrees, keyed by the
# version in its name); later runs install that file, and a venv that already has pyspark
# VERSION is left alone (no index access at all). py4j, its one dependency, comes from the
# index the first time a venv gets pyspark.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# != 2 ]; then
  echo "usage: $0 PYTHON VERSION" >&2
  exit 2
fi
python=$1
version=$2
wheels=.cache/wheels

installed=$("$python" -c 'import importlib.metadata as m
try:
    print(m.version("pyspark"))
except m.PackageNotFoundError:
    pass')
if [ "$installed" = "$version" ]; then
  echo "pyspark $version: already in the venv"
  exit 0
fi

shopt -s nullglob
cached=("$wheels"/pyspark-"$version"-*.whl)
if [ ${#cached[@]} = 0 ]; then
  echo "pyspark $version: building its wheel into $wheels/ (once; about a minute)"
  mkdir -p "$wheels"
  build=$(mktemp -d "$wheels/.build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  "$python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$build" "pyspark==$version"
  built=("$build"/pyspark-"$version"-*.whl)
  if [ ${#built[@]} != 1 ]; then
    echo "pip wheel pyspark==$version made ${#built[@]} pyspark wheels in $build, not one" >&2
    exit 1
  fi
  # A rename within one file system: another run never sees half a wheel.
  mv "${built[0]}" "$wheels/"
  cached=("$wheels/$(basename "${built[0]}")")
fi
echo "pyspark $version: installing ${cached[0]}"
"$python" -m pip install --quiet --disable-pip-version-check "${cached[0]}"
