#!/bin/sh
# docs/diagrams/render.sh - render every diagram source in docs/diagrams to SVG and PNG next
# to it (both are committed, so the docs read without tools).  Needs Debian's graphviz
# (tests/deps.sh) and python3.
#
#   sh docs/diagrams/render.sh            render all
#   sh docs/diagrams/render.sh to-be      render one (by name)
#
# NAME.dot   Graphviz source, laid out by dot.
# NAME.seq   a sequence diagram (format: seq.py); seq.py writes NAME.dot from it (generated,
#            committed too), laid out by neato -n2 (every node pinned).
set -eu
cd "$(dirname "$0")"
command -v dot >/dev/null || { echo "render.sh: graphviz is not installed (apt-get install graphviz)" >&2; exit 1; }
DPI=${DPI:-110}
for seq in *.seq; do
	[ -e "$seq" ] || continue
	n=${seq%.seq}
	[ $# -eq 0 ] || [ "$1" = "$n" ] || continue
	python3 seq.py "$seq" > "$n.dot.tmp" && mv "$n.dot.tmp" "$n.dot"
done
count=0
for src in *.dot; do
	n=${src%.dot}
	[ $# -eq 0 ] || [ "$1" = "$n" ] || continue
	engine="dot"
	[ ! -e "$n.seq" ] || engine="neato -n2"
	$engine -Tsvg "$src" -o "$n.svg"
	$engine -Tpng -Gdpi="$DPI" "$src" -o "$n.png"
	count=$((count + 1))
	echo "render.sh: $n.svg $n.png"
done
[ "$count" -gt 0 ] || { echo "render.sh: no diagram ${1:-}" >&2; exit 1; }
