set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "perf/research/results/bulk_load.png"
set title "Bulk insert, rows/s per table (one stream each)"
set ylabel "rows/s"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25

set yrange [0:*]
plot "perf/research/results/bulk_load.dat" using 2:xtic(1) title "ClickHouse INSERT FORMAT TabSeparated" , "perf/research/results/bulk_load.dat" using 3:xtic(1) title "PostgreSQL COPY (no indexes yet)"
