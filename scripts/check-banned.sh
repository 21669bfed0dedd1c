#!/bin/sh
# Rejects functions that are easy to misuse in C (unbounded copies and
# formatting, unchecked conversions); run by the test suite.
set -eu
dir=${1:-src}
banned='sprintf|vsprintf|strcpy|strcat|strncat|gets|atoi|atol|atoll|atof|strtok|tmpnam|mktemp|alloca'
hits=$(grep -rnE "(^|[^a-zA-Z0-9_>.])($banned)[[:space:]]*\(" "$dir" \
	--include='*.c' --include='*.h' | grep -v 'banned-ok' || true)
if [ -n "$hits" ]; then
	echo "banned functions used (use snprintf/str_copy/str_fmt/strtol):"
	echo "$hits"
	exit 1
fi
echo "no banned functions in $dir"
