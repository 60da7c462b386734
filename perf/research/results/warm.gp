set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "perf/research/results/warm.png"
set title "Warm reads, ms (log scale): p50 and p99 per query"
set ylabel "ms"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25
set logscale y

plot "perf/research/results/warm.dat" using 2:xtic(1) title "PostgreSQL p50" , "perf/research/results/warm.dat" using 3:xtic(1) title "PostgreSQL p99" , "perf/research/results/warm.dat" using 4:xtic(1) title "ClickHouse p50" , "perf/research/results/warm.dat" using 5:xtic(1) title "ClickHouse p99"
