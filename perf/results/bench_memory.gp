set terminal pngcairo noenhanced size 1300,520 font "DejaVu Sans,9"
set output "perf/results/bench_memory.png"
set title "Memory under each load: RSS steady (median sample) and peak, MiB (medians of the runs)"
set ylabel "MiB"
set style fill solid 0.8 border -1
set boxwidth 0.35
set grid ytics
set key top left
set yrange [0:*]
set xrange [-0.6:5.6]
plot "perf/results/bench_memory.dat" using ($1-0.18):3:xtic(2) with boxes title "steady", "" using ($1+0.18):4 with boxes title "peak"
