#!/usr/bin/env bash
# Pins every container image chitieu runs to its digest: each `image: name:tag` of the compose
# files and each `FROM name:tag` of deploy/Dockerfile becomes name:tag@sha256:<digest>, so that
# `docker compose pull` and `docker compose build` get exactly the bytes that were reviewed, even
# if someone pushes a new image under the same tag. The tag stays for people to read; Docker uses
# the digest. Run it where a registry is reachable, review the diff, commit it:
#
#   bash deploy/pin-images.sh            pin what is not pinned yet
#   bash deploy/pin-images.sh --refresh  look every tag up again (an upgrade: new patch releases)
#   bash deploy/pin-images.sh --check    list the images not pinned yet; exit 1 if there are any
#
# The digest is the one of the tag's manifest list (every platform), read with the first of these
# that is installed: crane, `docker buildx imagetools`, skopeo. Images built here (chitieu:latest)
# are left alone. PIN_IMAGES_RESOLVER may name another command that prints a tag's digest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILES=("$ROOT"/docker-compose*.yml "$ROOT"/deploy/docker-compose*.yml "$ROOT"/deploy/Dockerfile)
MODE="${1:-pin}"
case "$MODE" in pin|--refresh|--check) ;; *) echo "usage: $0 [--refresh|--check]" >&2; exit 2 ;; esac

# Every image reference of a file, one a line: `image: X` and `FROM X [AS name]`.
references() {
  sed -nE -e 's/^[[:space:]]*image:[[:space:]]*"?([^"[:space:]#]+)"?.*$/\1/p' \
          -e 's/^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?([^[:space:]]+).*$/\2/p' "$1"
}

local_image() { [[ "$1" != */* && "$1" == chitieu:* ]] || [[ "$1" == *'${'* ]]; }

digest_of() {
  local ref="$1" out
  if [ -n "${PIN_IMAGES_RESOLVER:-}" ]; then
    $PIN_IMAGES_RESOLVER "$ref"
  elif command -v crane >/dev/null; then
    crane digest "$ref"
  elif docker buildx imagetools inspect "$ref" >/dev/null 2>&1; then
    out="$(docker buildx imagetools inspect "$ref")"
    awk '$1 == "Digest:" { print $2; exit }' <<<"$out"
  elif command -v skopeo >/dev/null; then
    skopeo inspect --raw "docker://$ref" | sha256sum | awk '{ print "sha256:" $1 }'
  else
    echo "cannot look up $ref: install crane or skopeo, or use a Docker with buildx, where a registry is reachable" >&2
    return 1
  fi
}

unpinned=0
for file in "${FILES[@]}"; do
  [ -f "$file" ] || continue
  while read -r ref; do
    [ -n "$ref" ] || continue
    local_image "$ref" && continue
    name="${ref%@sha256:*}"
    if [ "$MODE" = "--check" ]; then
      if [ "$name" = "$ref" ]; then
        echo "not pinned: $ref (${file#"$ROOT"/})"
        unpinned=$((unpinned + 1))
      fi
      continue
    fi
    [ "$MODE" = "pin" ] && [ "$name" != "$ref" ] && continue
    digest="$(digest_of "$name")"
    if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
      echo "no digest for $name (got '${digest}')" >&2
      exit 1
    fi
    pinned="$name@$digest"
    # Literal replacement of the whole reference, wherever the file names it.
    REF="$ref" PINNED="$pinned" perl -pi -e 's/(?<![\w.\/:@-])\Q$ENV{REF}\E(?![\w.\/:@-])/$ENV{PINNED}/g' "$file"
    echo "${file#"$ROOT"/}: $pinned"
  done < <(references "$file" | sort -u)
done
if [ "$MODE" = "--check" ] && [ "$unpinned" -gt 0 ]; then
  echo "$unpinned image(s) not pinned by digest: run bash deploy/pin-images.sh where a registry is reachable" >&2
  exit 1
fi
