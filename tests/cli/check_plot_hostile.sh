#!/usr/bin/env bash
# check_plot_hostile.sh KVSIM DIR: kvsim plot passes hostile text (a title, a header, --group and
# category cells (bars, heat maps) with back-quotes, quotes, newlines, semicolons, system()) to
# gnuplot as text, never as code: the figures are drawn and no command runs. Skips (77) without
# gnuplot.
set -u
kvsim=$1 dir=$2
command -v gnuplot > /dev/null || { echo "gnuplot is not installed"; exit 77; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
cat > hostile.csv <<'CSV'
x,"y`touch PWNED_HEADER`",g
1,2,"`touch PWNED_GROUP`"
2,3,"a
system(""touch PWNED_NEWLINE"")"
3,4,"it's""; `touch PWNED_QUOTE`; b"
4,5,"@x; system('touch PWNED_SINGLE')"
CSV
title=$'t `touch PWNED_TITLE`\'"; system("touch PWNED_TITLE2")\nsystem("touch PWNED_TITLE3")'
for kind in lines cdf bars; do
  x=x
  [ $kind = bars ] && x=g
  "$kvsim" plot hostile.csv --kind $kind --x $x --y 'y`touch PWNED_HEADER`' --group g \
    --title "$title" --xlabel "\`touch PWNED_XLABEL\`" --out "fig-$kind" > /dev/null ||
    { echo "kvsim plot --kind $kind failed"; exit 1; }
  [ -s "fig-$kind.svg" ] && [ -s "fig-$kind.png" ] || { echo "no $kind figure"; exit 1; }
done
"$kvsim" plot hostile.csv --kind heatmap --x g --y x --z 'y`touch PWNED_HEADER`' \
  --title "$title" --out fig-heatmap > /dev/null || { echo "kvsim plot --kind heatmap failed"; exit 1; }
[ -s fig-heatmap.svg ] && [ -s fig-heatmap.png ] || { echo "no heatmap figure"; exit 1; }
if ls | grep -q PWNED; then
  echo "gnuplot ran a command from the data: $(ls | grep PWNED | tr '\n' ' ')"
  exit 1
fi
