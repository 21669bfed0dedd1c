#!/bin/sh
# Runs libFuzzer harnesses from a fuzz build for SECONDS each, starting from
# the seed corpus in tests/fuzz/corpus (copied, so the tree is not written).
# Usage: fuzz.sh BUILD SECONDS [NAME...]. Fails when a harness finds a crash.
set -eu
build=$(cd "$1" && pwd)
secs=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
names=${*:-token enroll config csr signer inventory status query policy window validity resp cursor}
for n in $names; do
	bin="$build/tests/fuzz_$n"
	if [ ! -x "$bin" ]; then
		echo "fuzz.sh: $bin is not built" >&2
		exit 1
	fi
	work=$(mktemp -d)
	cp "$src/tests/fuzz/corpus/$n/"* "$work/" 2>/dev/null || true
	if (cd "$work" && "$bin" -max_total_time="$secs" -max_len=20000 \
		-rss_limit_mb=2048 . >"$work.log" 2>&1); then
		echo "fuzz_$n: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$work.log" | tail -n 1)"
		rm -rf "$work" "$work.log"
	else
		echo "fuzz_$n: FAILED; corpus and crash kept in $work" >&2
		grep -E "ERROR|SUMMARY|#[0-9] " "$work.log" | head -n 20 >&2
		exit 1
	fi
done
