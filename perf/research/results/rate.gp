set terminal pngcairo noenhanced size 1000,520 font "DejaVu Sans,10"
set output "perf/research/results/rate.png"
set title "Point reads ('user' mix), p99 latency vs offered rate (open loop, 16 connections)"
set xlabel "offered requests/s"
set ylabel "p99 latency, ms (log)"
set logscale xy
set grid
set key top left
plot "perf/research/results/rate.dat" index 0 using 1:2 with linespoints lw 2 pt 7 title "PostgreSQL", "perf/research/results/rate.dat" index 1 using 1:2 with linespoints lw 2 pt 7 title "ClickHouse", "perf/research/results/rate.dat" index 2 using 1:2 with linespoints lw 2 pt 7 title "ClickHouse, tuned", 20.0 with lines dt 2 lc rgb "red" title "read API target p99 20 ms"
