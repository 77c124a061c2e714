package io.ds4j.benchmarks;

import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.WriteMode;
import io.ds4j.test.EtcdProcess;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster's figures while its members come and go (issue 7), each against the bound or steady state it is to be
 * read against, measured in the same run:
 * <ul>
 * <li><b>recovery</b>: a 3-worker cluster with a shared sfs L2, {@code node_timeout_s} 2 and {@code node_dead_timeout_s}
 * 3; WRITE_THROUGH keys written through worker C (so C holds every primary; a third of them C also owns), then C is
 * killed (SIGKILL). A client of A reads every key until each is back byte-exact: the time until then, for the keys
 * whose owner survived and for those C owned, against {@code node_timeout_s + node_dead_timeout_s}.</li>
 * <li><b>joinleave</b>: 100-byte set and get from 4 client threads on workers A and B of a 3-worker cluster; ops/s
 * in 250 ms buckets during a join of a fourth worker and during its leave (SIGTERM), against the steady state
 * before each.</li>
 * <li><b>migration</b>: how fast records move when a worker joins (keys/s, from the old owners' own count and time),
 * and how fast a lossless exit moves values (MiB/s against {@code data_migrate_rate_limit_mb}, from the leaver's
 * count and time), at two rate limits.</li>
 * </ul>
 */
final class ElasticityBench
{
    private static final Pattern HANDED = Pattern.compile("handed over (\\d+) records.* in (\\d+) ms");
    private static final Pattern MOVED = Pattern.compile("lossless exit: moved (\\d+) of (\\d+) values \\((\\d+) MiB\\)"
        + " in (\\d+) ms");
    private static final long BUCKET_MS = 250;

    private final KvBench bench;
    private final PrintStream out;
    private final Report report;

    ElasticityBench(final KvBench bench)
    {
        this.bench = bench;
        this.out = bench.out;
        this.report = bench.report;
    }

    void run(final Set<KvBench.Scenario> selected) throws IOException, InterruptedException
    {
        try (EtcdProcess etcd = BenchCluster.startEtcd())
        {
            out.println("elasticity: etcd pid " + etcd.pid() + " on " + etcd.endpoint());
            if (selected.contains(KvBench.Scenario.recovery))
            {
                recovery(etcd);
            }
            if (selected.contains(KvBench.Scenario.joinleave))
            {
                joinLeave(etcd);
            }
            if (selected.contains(KvBench.Scenario.migration))
            {
                migration(etcd);
            }
        }
    }

    // ---------------------------------------------------------------- recovery after kill -9

    private void recovery(final EtcdProcess etcd) throws IOException, InterruptedException
    {
        final Path l2 = Files.createTempDirectory(Path.of("/tmp"), "dsbench-recovery-l2-");
        final int nodeTimeout = 2;
        final int deadTimeout = 3;
        final Map<String, String> flags = bench.workerFlags(Map.of("node_timeout_s", Integer.toString(nodeTimeout),
            "node_dead_timeout_s", Integer.toString(deadTimeout), "heartbeat_interval_ms", "500",
            "l2_cache_type", "sfs", "sfs_path", l2.toString()));
        try (BenchCluster cluster = BenchCluster.start(etcd.endpoint(), "dsbench-recovery", bench.clusterPoolMb, flags,
            List.of(Map.of(), Map.of(), Map.of())))
        {
            final int count = 600; // few enough that one pass of reads through L2 takes well under a second
            final List<String> keys = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                keys.add(String.format(Locale.ROOT, "recovery-%06d", i));
            }
            final List<String> owners = cluster.owners(keys);
            final String victim = cluster.address(2);
            final SetParam writeThrough = SetParam.builder().writeMode(WriteMode.WRITE_THROUGH_L2_CACHE).build();
            final byte[][] values = new byte[count][];
            try (DsClient writer = bench.connect(cluster.worker(2), io.ds4j.client.ConnectOptions.Transport.AUTO))
            {
                for (int i = 0; i < count; i++)
                {
                    values[i] = KvBench.random(100 + i % 2000);
                    writer.kv().set(keys.get(i), values[i], writeThrough);
                }
            }
            final long[] backAtMs = new long[count];
            final LongAdder failures = new LongAdder();
            final int[] missing = new int[2];
            final List<java.util.concurrent.ConcurrentHashMap<String, LongAdder>> statuses = List.of(
                new java.util.concurrent.ConcurrentHashMap<>(), new java.util.concurrent.ConcurrentHashMap<>());
            try (DsClient reader = bench.connect(cluster.worker(0), io.ds4j.client.ConnectOptions.Transport.AUTO);
                 DsClient other = bench.connect(cluster.worker(1), io.ds4j.client.ConnectOptions.Transport.AUTO))
            {
                final long killed = System.nanoTime();
                cluster.worker(2).kill9();
                // one reader per kind of key, so the slow kind does not stretch the other's passes
                final Thread[] readers = new Thread[2];
                for (int kind = 0; kind < 2; kind++)
                {
                    final boolean victimOwned = kind == 1;
                    final DsClient client = kind == 0 ? reader : other;
                    final int slot = kind;
                    readers[kind] = Thread.ofPlatform().start(() -> missing[slot] = readUntilBack(client, keys, values,
                        i -> owners.get(i).equals(victim) == victimOwned, killed, backAtMs, failures,
                        statuses.get(slot)));
                }
                for (final Thread thread : readers)
                {
                    thread.join();
                }
                final long bound = (nodeTimeout + deadTimeout) * 1000L;
                final long survivedOwner = maxOf(backAtMs, owners, owner -> !owner.equals(victim));
                final long victimOwner = maxOf(backAtMs, owners, victim::equals);
                out.printf(Locale.ROOT, "recovery: %d WRITE_THROUGH keys back %d ms (owner survived) and %d ms (owner "
                    + "killed) after SIGKILL; %d failed reads meanwhile; %d never came back%n", count, survivedOwner,
                    victimOwner, failures.sum(), missing[0] + missing[1]);
                out.println("recovery: failed reads by status: owner survived " + statuses.get(0) + ", owner killed "
                    + statuses.get(1) + "; first key back after " + minOf(backAtMs, owners, owner -> !owner.equals(victim))
                    + " ms (owner survived) and " + minOf(backAtMs, owners, victim::equals) + " ms (owner killed)");
                report.add("R1", "kill -9: every L2-backed key whose owner survived readable again (read from L2 "
                    + "while its primary is unreachable)", survivedOwner + " ms", "node_timeout_s + node_dead_timeout_s"
                    + " = " + bound + " ms", (double) survivedOwner / bound, "", missing[0] == 0 ? "" : missing[0]
                    + " keys never came back");
                report.add("R1", "kill -9: every L2-backed key the killed worker owned readable again (after it is"
                    + " taken out of the ring and its ranges reconciled)", victimOwner + " ms",
                    "node_timeout_s + node_dead_timeout_s = " + bound + " ms", (double) victimOwner / bound, "",
                    missing[1] == 0 ? "" : missing[1] + " keys never came back");
            }
        }
        finally
        {
            deleteTree(l2);
        }
    }

    /** Reads the keys {@code which} picks until each is back byte-exact (or 120 s); returns how many never were. */
    private static int readUntilBack(final DsClient client, final List<String> keys, final byte[][] values,
        final java.util.function.IntPredicate which, final long since, final long[] backAtMs, final LongAdder failures,
        final Map<String, LongAdder> statuses)
    {
        final List<Integer> left = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++)
        {
            if (which.test(i))
            {
                left.add(i);
            }
        }
        while (!left.isEmpty() && System.nanoTime() - since < 120_000_000_000L)
        {
            final java.util.Iterator<Integer> it = left.iterator();
            while (it.hasNext())
            {
                final int i = it.next();
                try
                {
                    if (Arrays.equals(values[i], client.kv().get(keys.get(i))))
                    {
                        backAtMs[i] = (System.nanoTime() - since) / 1_000_000;
                        it.remove();
                    }
                }
                catch (final DsException e)
                {
                    failures.increment();
                    statuses.computeIfAbsent(e.code().name(), c -> new LongAdder()).increment();
                }
            }
        }
        return left.size();
    }

    private static long minOf(final long[] atMs, final List<String> owners,
        final java.util.function.Predicate<String> which)
    {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < atMs.length; i++)
        {
            if (which.test(owners.get(i)))
            {
                min = Math.min(min, atMs[i]);
            }
        }
        return min;
    }

    private static long maxOf(final long[] atMs, final List<String> owners,
        final java.util.function.Predicate<String> which)
    {
        long max = 0;
        for (int i = 0; i < atMs.length; i++)
        {
            if (which.test(owners.get(i)))
            {
                max = Math.max(max, atMs[i]);
            }
        }
        return max;
    }

    // ---------------------------------------------------------------- throughput through a join and a leave

    private void joinLeave(final EtcdProcess etcd) throws IOException, InterruptedException
    {
        try (BenchCluster cluster = BenchCluster.start(etcd.endpoint(), "dsbench-joinleave", bench.clusterPoolMb,
            bench.workerFlags(Map.of()), List.of(Map.of(), Map.of(), Map.of())))
        {
            final int keys = 10_000;
            final byte[] value = KvBench.random(bench.valueSize);
            final List<DsClient> clients = new ArrayList<>();
            final LongAdder[] buckets = new LongAdder[4096];
            final LongAdder errors = new LongAdder();
            Arrays.setAll(buckets, i -> new LongAdder());
            final AtomicBoolean running = new AtomicBoolean(true);
            final List<Thread> threads = new ArrayList<>();
            final long began = System.nanoTime();
            try
            {
                for (int t = 0; t < 4; t++)
                {
                    final DsClient client = bench.connect(cluster.worker(t % 2),
                        io.ds4j.client.ConnectOptions.Transport.AUTO);
                    clients.add(client);
                    for (int k = t; k < keys; k += 4)
                    {
                        client.kv().set("jl-" + k, value);
                    }
                    final int first = t;
                    threads.add(Thread.ofPlatform().name("dsbench-joinleave-" + t).start(() ->
                    {
                        final ThreadLocalRandom random = ThreadLocalRandom.current();
                        while (running.get())
                        {
                            final String key = "jl-" + (first + 4 * random.nextInt(keys / 4));
                            try
                            {
                                if (random.nextBoolean())
                                {
                                    client.kv().set(key, value);
                                }
                                else
                                {
                                    client.kv().get(key);
                                }
                                final int bucket = (int) ((System.nanoTime() - began) / 1_000_000 / BUCKET_MS);
                                buckets[Math.min(buckets.length - 1, bucket)].increment();
                            }
                            catch (final DsException e)
                            {
                                errors.increment();
                            }
                        }
                    }));
                }
                Thread.sleep(6_000);
                cluster.add(bench.clusterPoolMb, bench.workerFlags(Map.of()));
                // the window around the ring change (etcd lists the joiner ACTIVE then; add returns 0.5 s later), not
                // the joiner's JVM start before it, which the others do not notice but for the CPU it takes
                final long joined = sinceMs(began);
                final long joinStart = joined - 1_500;
                final long joinEnd = joined + 2_500;
                Thread.sleep(Math.max(0, joinEnd - sinceMs(began)) + 4_000);
                // where a stall during the join comes from: how long each owner held the keys it took over
                for (int w = 0; w < cluster.size(); w++)
                {
                    for (final String line : cluster.worker(w).logTail(400))
                    {
                        if (line.contains("holding the keys") || line.contains("every peer reported")
                            || line.contains("no RECONCILED") || line.contains("ring changed"))
                        {
                            out.println("joinleave: worker " + (char) ('A' + w) + ": " + line);
                        }
                    }
                }
                final long leaveStart = sinceMs(began);
                cluster.worker(3).stop();
                final long leaveEnd = sinceMs(began) + 2_000;
                Thread.sleep(Math.max(0, leaveEnd - sinceMs(began)) + 1_000);
                running.set(false);
                for (final Thread thread : threads)
                {
                    thread.join(10_000);
                }
                final double steadyBeforeJoin = rate(buckets, joinStart - 4_000, joinStart);
                final double duringJoin = rate(buckets, joinStart, joinEnd);
                final double steadyBeforeLeave = rate(buckets, leaveStart - 3_000, leaveStart);
                final double duringLeave = rate(buckets, leaveStart, leaveEnd);
                final double worstJoin = worstBucket(buckets, joinStart, joinEnd);
                final double worstLeave = worstBucket(buckets, leaveStart, leaveEnd);
                out.printf(Locale.ROOT, "joinleave: steady %.0f ops/s, join %.0f ops/s over %d ms (worst 250 ms: %.0f);"
                        + " steady %.0f ops/s, leave %.0f ops/s over %d ms (worst 250 ms: %.0f); %d failed ops%n",
                    steadyBeforeJoin, duringJoin, joinEnd - joinStart, worstJoin, steadyBeforeLeave, duringLeave,
                    leaveEnd - leaveStart, worstLeave, errors.sum());
                report.add("R2", "ops/s of 100 B set+get (4 threads on A and B) while a 4th worker joins (from 1 s"
                    + " before it is ACTIVE in the ring to 3 s after, " + (joinEnd - joinStart) + " ms)", KvBench.count(duringJoin)
                    + " ops/s (worst 250 ms: " + KvBench.count(worstJoin) + " ops/s)", "steady state before: "
                    + KvBench.count(steadyBeforeJoin) + " ops/s", duringJoin / steadyBeforeJoin, "", errors.sum()
                    + " failed ops in the run");
                report.add("R2", "ops/s of the same while that worker leaves (SIGTERM until 2 s after it exited, "
                    + (leaveEnd - leaveStart) + " ms)", KvBench.count(duringLeave) + " ops/s (worst 250 ms: "
                    + KvBench.count(worstLeave) + " ops/s)", "steady state before: " + KvBench.count(steadyBeforeLeave)
                    + " ops/s", duringLeave / steadyBeforeLeave, "", "");
            }
            finally
            {
                running.set(false);
                clients.forEach(DsClient::close);
            }
        }
    }

    private static long sinceMs(final long began)
    {
        return (System.nanoTime() - began) / 1_000_000;
    }

    private static double rate(final LongAdder[] buckets, final long fromMs, final long toMs)
    {
        long ops = 0;
        final int first = (int) (Math.max(0, fromMs) / BUCKET_MS);
        final int last = (int) Math.min(buckets.length, toMs / BUCKET_MS);
        for (int b = first; b < last; b++)
        {
            ops += buckets[b].sum();
        }
        return last <= first ? 0 : ops * 1000.0 / ((last - first) * BUCKET_MS);
    }

    private static double worstBucket(final LongAdder[] buckets, final long fromMs, final long toMs)
    {
        double worst = Double.MAX_VALUE;
        for (int b = (int) (fromMs / BUCKET_MS); b < Math.min(buckets.length, toMs / BUCKET_MS); b++)
        {
            worst = Math.min(worst, buckets[b].sum() * 1000.0 / BUCKET_MS);
        }
        return worst == Double.MAX_VALUE ? 0 : worst;
    }

    // ---------------------------------------------------------------- metadata and data migration rates

    private void migration(final EtcdProcess etcd) throws IOException, InterruptedException
    {
        // metadata: 200k records on two workers, a third joins and takes about a third of them
        try (BenchCluster cluster = BenchCluster.start(etcd.endpoint(), "dsbench-metamove", bench.clusterPoolMb,
            bench.workerFlags(Map.of()), List.of(Map.of(), Map.of())))
        {
            final int keys = 200_000;
            final byte[] value = KvBench.random(bench.valueSize);
            try (DsClient a = bench.connect(cluster.worker(0), io.ds4j.client.ConnectOptions.Transport.AUTO))
            {
                final List<String> batch = new ArrayList<>();
                final List<byte[]> values = new ArrayList<>();
                for (int i = 0; i < keys; i++)
                {
                    batch.add("meta-" + i);
                    values.add(value);
                    if (batch.size() == 1000)
                    {
                        a.kv().mset(batch, values, SetParam.DEFAULT);
                        batch.clear();
                        values.clear();
                    }
                }
            }
            cluster.add(bench.clusterPoolMb, bench.workerFlags(Map.of()));
            Thread.sleep(3_000);
            long records = 0;
            long millis = 0;
            for (int w = 0; w < 2; w++)
            {
                for (final String line : cluster.worker(w).logTail(200))
                {
                    final Matcher handed = HANDED.matcher(line);
                    if (handed.find() && Long.parseLong(handed.group(1)) > 0)
                    {
                        records += Long.parseLong(handed.group(1));
                        millis = Math.max(millis, Long.parseLong(handed.group(2)));
                    }
                }
            }
            final double perSecond = millis == 0 ? Double.NaN : records * 1000.0 / millis;
            out.printf(Locale.ROOT, "migration: a join moved %d records in %d ms (%.0f keys/s)%n", records, millis,
                perSecond);
            report.add("R3", "metadata migration on a join: records handed to the new owner (2 old owners at once, "
                + keys + " keys in all)", KvBench.count(perSecond) + " keys/s (" + records + " in " + millis + " ms)",
                "", Double.NaN, "", "");
        }
        // data: a lossless exit of a worker holding 120 MiB of 1 MiB cache-only values at two rate limits, and one
        // holding 100,000 small ones (where the per-key round trips count, not the bytes)
        for (final int[] move : List.of(new int[] {40, 120, 1 << 20}, new int[] {400, 120, 1 << 20},
            new int[] {40, 100_000, bench.valueSize}))
        {
            final int limit = move[0];
            final int count = move[1];
            final int size = move[2];
            try (BenchCluster cluster = BenchCluster.start(etcd.endpoint(), "dsbench-datamove-" + limit + "-" + count,
                bench.clusterPoolMb, bench.workerFlags(Map.of("enable_lossless_data_exit_mode", "true",
                    "data_migrate_rate_limit_mb", Integer.toString(limit))), List.of(Map.of(), Map.of(), Map.of())))
            {
                try (DsClient leaver = bench.connect(cluster.worker(2), io.ds4j.client.ConnectOptions.Transport.AUTO))
                {
                    final byte[] value = KvBench.random(size);
                    final List<String> batch = new ArrayList<>();
                    final List<byte[]> values = new ArrayList<>();
                    for (int i = 0; i < count; i++)
                    {
                        batch.add("data-" + i);
                        values.add(value);
                        if (batch.size() == (size > 64 * 1024 ? 1 : 1000) || i == count - 1)
                        {
                            if (batch.size() == 1)
                            {
                                leaver.kv().set(batch.getFirst(), value);
                            }
                            else
                            {
                                final List<String> failed = leaver.kv().mset(batch, values, SetParam.DEFAULT);
                                if (!failed.isEmpty())
                                {
                                    throw new IOException("mset of " + batch.size() + " keys failed for "
                                        + failed.size() + ", e.g. " + failed.getFirst());
                                }
                            }
                            batch.clear();
                            values.clear();
                        }
                    }
                }
                final long stopping = System.nanoTime();
                cluster.worker(2).stop();
                final long stopMs = (System.nanoTime() - stopping) / 1_000_000;
                String line = "(no line)";
                for (final String logged : cluster.worker(2).logTail(100))
                {
                    if (MOVED.matcher(logged).find())
                    {
                        line = logged;
                    }
                }
                final Matcher moved = MOVED.matcher(line);
                if (!moved.find())
                {
                    report.add("R3", "data migration at a limit of " + limit + " MiB/s", "no result: " + line, "",
                        Double.NaN, "", "");
                    continue;
                }
                final long ms = Long.parseLong(moved.group(4));
                final double mib = Long.parseLong(moved.group(1)) * (double) size / (1 << 20);
                final double rate = ms == 0 ? Double.NaN : mib * 1000.0 / ms;
                out.printf(Locale.ROOT, "migration: a lossless exit moved %s of %s values (%.1f MiB) in %d ms at a limit "
                    + "of %d MiB/s; the stop took %d ms%n", moved.group(1), moved.group(2), mib, ms, limit, stopMs);
                final double keysPerSecond = ms == 0 ? Double.NaN : Long.parseLong(moved.group(1)) * 1000.0 / ms;
                report.add("R3", "data migration on a lossless exit: " + count + " cache-only values of " + size
                    + " B to 2 workers (the stop took " + stopMs + " ms)", String.format(Locale.ROOT,
                    "%.1f MiB/s, %s values/s", rate, KvBench.count(keysPerSecond)), "data_migrate_rate_limit_mb = "
                    + limit, size < 64 * 1024 ? Double.NaN : rate / limit, "", moved.group(1) + " of "
                    + moved.group(2) + " values moved");
            }
        }
    }

    private static void deleteTree(final Path root)
    {
        try (var paths = Files.walk(root))
        {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        catch (final IOException e)
        {
            // a temp directory left behind is not worth failing the run for
        }
    }
}
