#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install, build, back up sample data to a local
# file:// target (a full, then an incremental after a change), restore it, and check the restore.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ]; then
  npm install --no-audit --no-fund
fi
npm run build --silent
work=${DEMO_DIR:-$(mktemp -d /tmp/permafrost-demo.XXXXXX)}
src=$work/data target=$work/target restored=$work/restored
rm -rf "$src" "$target" "$restored"
mkdir -p "$src/docs" "$src/empty-dir"
for i in $(seq 1 200); do printf 'file %d\n%s\n' "$i" "$(date -u +%s)" > "$src/docs/note-$i.txt"; done
head -c 3000000 /dev/urandom > "$src/large.bin"
ln -s docs/note-1.txt "$src/link-to-note"
pf() { npx --no-install permafrost "$@"; }
opts=(--no-encryption --archive-dir "$work/cache" --volsize 1)
echo "== full backup of $src to file://$target"
pf full "${opts[@]}" "$src" "file://$target"
echo "change a file, add one, delete one"
printf 'changed\n' >> "$src/docs/note-2.txt"; touch -d '+1 minute' "$src/docs/note-2.txt"
printf 'new\n' > "$src/docs/new.txt"; rm "$src/docs/note-3.txt"
sleep 1
echo "== incremental backup"
pf incremental "${opts[@]}" "$src" "file://$target"
echo "== collection-status"
pf collection-status "${opts[@]}" "file://$target"
echo "== restore to $restored"
pf restore "${opts[@]}" "file://$target" "$restored"
if diff -r --no-dereference "$src" "$restored"; then
  echo "OK: the restore equals the source ($(find "$restored" | wc -l) entries)"
else
  echo "FAILED: the restore differs from the source" >&2
  exit 1
fi
