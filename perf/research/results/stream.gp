set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "perf/research/results/stream.png"
set title "Steady-rate inserts: insert latency p50 / p99 and worst lag, ms (a = 1,000 rows/100 ms, b = 10,000 rows/1 s)"
set ylabel "ms"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25
set logscale y

plot "perf/research/results/stream.dat" using 2:xtic(1) title "insert p50" , "perf/research/results/stream.dat" using 3:xtic(1) title "insert p99" , "perf/research/results/stream.dat" using 4:xtic(1) title "lag max"
