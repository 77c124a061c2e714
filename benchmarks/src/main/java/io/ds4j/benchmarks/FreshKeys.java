package io.ds4j.benchmarks;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Scenario b's sets of new keys (issue 10: every KV-cache block and stage payload is a new key, and the copy scenario
 * only overwrites one): {@code kv.set} of distinct new keys of one size, each landing in pool memory the previous
 * ones did not use, through the run's client (it maps the pool ahead of use, ConnectOptions.Builder#warmPool) and
 * through a client that does not ({@code warmPool(false)}), against {@code MemorySegment.copy} of the same size
 * between two touched off-heap segments. The benchmark process's minor faults per set show where the difference
 * goes.
 */
final class FreshKeys
{
    private static final int MAX_KEYS = 12;
    private static final Pattern MAPPING = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    private final KvBench bench;

    FreshKeys(final KvBench bench)
    {
        this.bench = bench;
    }

    void run(final DsClient warm, final BenchWorker worker, final long size) throws IOException
    {
        final int count = (int) Math.min(MAX_KEYS, bench.poolMb * KvBench.MIB / 2 / size);
        if (count < 3)
        {
            bench.report.note("fresh-key sets of " + KvBench.label(size) + ": the pool holds too few of them");
            return;
        }
        final byte[] value = new byte[Math.toIntExact(size)];
        java.util.Arrays.fill(value, (byte) 3);
        awaitWarm("_" + worker.port() + "-");
        final double copyNs = copyNanos(size);
        final Sets warmSets = sets(warm.kv(), "dsbench-fresh-warm-", value, count);
        final Sets coldSets;
        try (DsClient cold = DsClient.connect(ConnectOptions.builder("127.0.0.1", worker.port())
            .connectTimeoutMs(10_000).requestTimeoutMs(bench.requestTimeoutMs).warmPool(false).build()))
        {
            coldSets = sets(cold.kv(), "dsbench-fresh-cold-", value, count);
        }
        final String sz = KvBench.label(size);
        final String ceiling = String.format(Locale.ROOT, "MemorySegment.copy off-heap→off-heap %.2f ms", copyNs / 1e6);
        bench.out.printf(Locale.ROOT, "  [b] %-62s %.2f ms, %d faults/set (cold client %.2f ms, %d faults/set;"
            + " copy %.2f ms)%n", "ds4j set of a new " + sz + " key", warmSets.medianNs / 1e6, warmSets.faultsPerSet,
            coldSets.medianNs / 1e6, coldSets.faultsPerSet, copyNs / 1e6);
        bench.report.add("b", "set of a new " + sz + " key (p50 of " + count + ", client warmed the pool), "
                + warmSets.faultsPerSet + " minor faults per set",
            String.format(Locale.ROOT, "%.2f ms", warmSets.medianNs / 1e6), ceiling, copyNs / warmSets.medianNs,
            "≥ 0.77 (within 1.3×)", Report.atLeast(copyNs / warmSets.medianNs, 1 / 1.3));
        bench.report.add("b", "set of a new " + sz + " key, client with warmPool(false), " + coldSets.faultsPerSet
                + " minor faults per set", String.format(Locale.ROOT, "%.2f ms", coldSets.medianNs / 1e6), ceiling,
            copyNs / coldSets.medianNs, "(reference)", "-");
    }

    private record Sets(double medianNs, long faultsPerSet)
    {
    }

    private static Sets sets(final KvClient kv, final String prefix, final byte[] value, final int count)
        throws IOException
    {
        final Samples samples = new Samples(count);
        final List<String> keys = new ArrayList<>();
        final long faultsBefore = minorFaults();
        for (int i = 0; i < count; i++)
        {
            final String key = prefix + i;
            final long started = System.nanoTime();
            kv.set(key, value);
            samples.add(System.nanoTime() - started);
            keys.add(key);
        }
        final long faults = minorFaults() - faultsBefore;
        kv.delete(keys);
        return new Sets(samples.median(), faults / count);
    }

    /** The fastest of a few copies of {@code size} bytes between two touched off-heap segments. */
    private static double copyNanos(final long size)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment from = arena.allocate(size, 64);
            final MemorySegment to = arena.allocate(size, 64);
            from.fill((byte) 1);
            to.fill((byte) 0);
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 8; i++)
            {
                final long started = System.nanoTime();
                MemorySegment.copy(from, 0, to, 0, size);
                best = Math.min(best, System.nanoTime() - started);
            }
            return best;
        }
    }

    /**
     * Waits (at most 60 s) until this process has most of the pool file named by {@code marker} resident: the run's
     * client warms its mapping on connect.
     */
    private void awaitWarm(final String marker) throws IOException
    {
        final long wantKb = bench.poolMb * 1024L * 9 / 10;
        final long deadline = System.nanoTime() + 60_000_000_000L;
        while (residentKb(marker) < wantKb && System.nanoTime() < deadline)
        {
            try
            {
                Thread.sleep(50);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The resident KiB of this process's mappings of /dev/shm files whose name contains {@code marker}. */
    private static long residentKb(final String marker) throws IOException
    {
        long kb = 0;
        boolean inside = false;
        for (final String line : Files.readAllLines(Path.of("/proc/self/smaps")))
        {
            if (MAPPING.matcher(line).lookingAt())
            {
                inside = line.contains("/dev/shm/") && line.contains(marker);
            }
            else if (inside && line.startsWith("Rss:"))
            {
                kb += Long.parseLong(line.replaceAll("\\D+", ""));
            }
        }
        return kb;
    }

    /** This process's minor page faults so far (/proc/self/stat, field 10). */
    private static long minorFaults() throws IOException
    {
        final String stat = Files.readString(Path.of("/proc/self/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[7]);
    }
}
