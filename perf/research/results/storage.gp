set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "perf/research/results/storage.png"
set title "Storage on disk per table, MiB"
set ylabel "MiB"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25
set logscale y

plot "perf/research/results/storage.dat" using 2:xtic(1) title "ClickHouse (compressed parts)" , "perf/research/results/storage.dat" using 3:xtic(1) title "PostgreSQL table" , "perf/research/results/storage.dat" using 4:xtic(1) title "PostgreSQL indexes"
