package io.ds4j.benchmarks;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.test.FreePorts;
import io.ds4j.worker.eviction.EvictionSimulator;
import io.ds4j.worker.eviction.LruPolicy;
import io.ds4j.worker.eviction.S3FifoPolicy;
import io.ds4j.worker.store.PoolAllocator;
import io.ds4j.worker.store.l2.SfsL2Cache;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Issue 3's speed items, the memory tiers, each against a ceiling or reference measured in the same run:
 * <ul>
 * <li><b>spill</b> (3a): a get of a value that was spilled to disk, as GB/s, against a plain {@link FileChannel}
 * read of a file of the same size in the same directory into direct memory. The worker's pool holds one value
 * (1.5× its size), so with two NONE_L2_CACHE values the second's set spills the first, and getting them in turn makes
 * every get evict the other (it keeps its spill copy, so that costs no write) and read this one back from the spill
 * file into the pool. The worker's own spill-hit counter is checked to equal the number of gets.</li>
 * <li><b>zipf</b> (3b): a working set of {@code --zipf-ratio} times the pool, Zipf key popularity, NONE_L2_CACHE_EVICT
 * values and no spill, one client thread doing cache-aside (a get that finds nothing sets the value). The memory
 * tier's hit ratio on the real worker, beside LRU and S3-FIFO simulated ({@link EvictionSimulator#run}) on exactly the
 * requests the client made, with the bytes the worker held; and the get latency against the same trace on a worker
 * that holds the whole working set.</li>
 * <li><b>l2</b> (3c): WRITE_THROUGH sets with {@code l2_cache_type=sfs}, against a plain write + fsync of the same
 * bytes to a new file in the same file system, against the L2's own steps done by hand (temporary file, write,
 * fsync, rename over the record, fsync of the directory), against {@link SfsL2Cache#put} called in this JVM, and
 * against a NONE_L2_CACHE set of the same size.</li>
 * </ul>
 * Everything lives in a fresh folder under {@code --tiers-dir} (the disk measured), removed at the end.
 */
final class TiersBench
{
    private static final long MIB = 1L << 20;
    private static final int L2_KEYS = 16;
    private static final int ZIPF_MAX_MEASURED = 2_000_000;
    private static final Path DROP_CACHES = Path.of("/proc/sys/vm/drop_caches");

    private final KvBench bench;
    private final PrintStream out;
    private final Report report;
    private volatile byte sink;
    private Path base;

    TiersBench(final KvBench bench)
    {
        this.bench = bench;
        this.out = bench.out;
        this.report = bench.report;
    }

    /** Fails the command line early on bad tiers options. */
    static void validate(final KvBench bench, final CommandLine commandLine)
    {
        for (final String size : bench.spillSizes)
        {
            KvBench.parseSize(size);
        }
        for (final String size : bench.l2Sizes)
        {
            KvBench.parseSize(size);
        }
        KvBench.parseSize(bench.zipfValueSize);
        if (bench.zipfPoolMb < 8 || !(bench.zipfRatio >= 1) || !(bench.zipfAlpha > 0) || bench.zipfWarmupFills < 0)
        {
            throw new CommandLine.ParameterException(commandLine, "--zipf-pool-mb must be at least 8, --zipf-ratio at"
                + " least 1, --zipf-alpha positive and --zipf-warmup-fills at least 0");
        }
        if (bench.dropCaches && !Files.isWritable(DROP_CACHES))
        {
            throw new CommandLine.ParameterException(commandLine, "--drop-caches needs write access to " + DROP_CACHES
                + " (root)");
        }
        if (!Files.isDirectory(bench.tiersDir))
        {
            throw new CommandLine.ParameterException(commandLine, "--tiers-dir " + bench.tiersDir
                + " is not a directory");
        }
    }

    /** The header line: where the tiers live and how they are measured. */
    static String settings(final KvBench bench, final Set<KvBench.Scenario> selected)
    {
        final List<String> parts = new ArrayList<>();
        parts.add("dir " + bench.tiersDir + " (" + describeStore(bench.tiersDir) + ")");
        if (selected.contains(KvBench.Scenario.spill))
        {
            parts.add("spill sizes " + bench.spillSizes + ", page cache "
                + (bench.dropCaches ? "dropped before every timed read (sync; echo 3 > " + DROP_CACHES + ")"
                    : "warm (not dropped)"));
        }
        if (selected.contains(KvBench.Scenario.zipf))
        {
            parts.add(String.format(Locale.ROOT, "zipf pool %d MiB, values %s, working set %.1fx the pool, Zipf(%.2f),"
                    + " seed %d, warm-up %d pool-fulls", bench.zipfPoolMb, bench.zipfValueSize, bench.zipfRatio,
                bench.zipfAlpha, bench.zipfSeed, bench.zipfWarmupFills));
        }
        if (selected.contains(KvBench.Scenario.l2))
        {
            parts.add("l2 sizes " + bench.l2Sizes);
        }
        return String.join("; ", parts);
    }

    private static String describeStore(final Path dir)
    {
        try
        {
            final FileStore store = Files.getFileStore(dir);
            return store.type() + " on " + store.name() + ", " + store.getUsableSpace() / (1L << 30) + " GiB free";
        }
        catch (final IOException e)
        {
            return "file system unknown: " + e.getMessage();
        }
    }

    void run(final Set<KvBench.Scenario> selected) throws IOException
    {
        base = Files.createTempDirectory(bench.tiersDir, "dsbench-tiers-");
        out.println("tiers: working folder " + base + " (" + describeStore(base) + ")");
        try
        {
            if (selected.contains(KvBench.Scenario.spill))
            {
                spilledGet();
            }
            if (selected.contains(KvBench.Scenario.zipf))
            {
                zipf();
            }
            if (selected.contains(KvBench.Scenario.l2))
            {
                writeThrough();
            }
        }
        finally
        {
            Dirs.deleteTree(base);
        }
    }

    // ---------------------------------------------------------------- 3a. get of a spilled value

    private void spilledGet() throws IOException
    {
        for (final String text : bench.spillSizes)
        {
            final long size = KvBench.parseSize(text);
            final int n = Math.toIntExact(size);
            final String sz = KvBench.label(size);
            final Path dir = Files.createDirectories(base.resolve("spill-" + n));
            // the pool holds one value and not two: each get evicts the other value and reads this one back
            final int poolMb = (int) ((size * 3 / 2 + MIB - 1) / MIB);
            final int metricsPort = FreePorts.next();
            final Map<String, String> flags = new LinkedHashMap<>();
            flags.put("spill_directory", dir.toString());
            flags.put("spill_size_limit", Long.toString(4 * size + 64 * MIB));
            flags.put("metrics_port", Integer.toString(metricsPort));
            try (BenchWorker worker = BenchWorker.start(poolMb, bench.workerFlags(flags));
                 DsClient client = bench.connect(worker, ConnectOptions.Transport.AUTO);
                 Arena arena = Arena.ofShared())
            {
                out.println("spill " + sz + ": worker pid " + worker.pid() + ", pool " + poolMb + " MiB, "
                    + String.join(" ", KvBench.shorten(worker.command())));
                final KvClient kv = client.kv();
                final List<List<String>> keys = List.of(List.of("spill-a-" + n), List.of("spill-b-" + n));
                final byte[][] values = {KvBench.random(n), KvBench.random(n)};
                kv.set(keys.get(0).getFirst(), values[0]);
                // no room for two: this allocation spills the first value (the allocation-failure path)
                kv.set(keys.get(1).getFirst(), values[1]);
                boolean zeroCopy = true;
                // B is in memory after the check below, so the first timed get is of A
                final int[] next = {1};
                for (int k = 0; k < 2; k++)
                {
                    // read A then B: both come back from spill, and both now have spill copies
                    try (ReadOnlyBuffer view = kv.getBuffers(keys.get(k), 0).getFirst())
                    {
                        zeroCopy &= view.isZeroCopy();
                        if (view.data().mismatch(MemorySegment.ofArray(values[k])) != -1)
                        {
                            throw new IOException("spilled value " + keys.get(k) + " read back wrong");
                        }
                    }
                }
                final Metrics start = Metrics.scrape(metricsPort);
                final Path plainFile = dir.resolve("plain-" + n + ".dat");
                final MemorySegment target = arena.allocate(size, 4096);
                // the plain file has the same bytes, and like the spill store's is written without fsync
                try (FileChannel channel = FileChannel.open(plainFile, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE))
                {
                    writeFully(channel, ByteBuffer.wrap(values[0]), 0);
                }
                target.fill((byte) 0);
                final AtomicLong gets = new AtomicLong();
                // the same read into a mapped /dev/shm file, the kind of memory the pool is
                final Path shmFile = Files.createTempFile(Path.of("/dev/shm"), "dsbench-spill-ceiling-", "");
                try (FileChannel plain = FileChannel.open(plainFile, StandardOpenOption.READ);
                     FileChannel shm = FileChannel.open(shmFile, StandardOpenOption.READ, StandardOpenOption.WRITE))
                {
                    final MemorySegment shmTarget = shm.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                    shmTarget.fill((byte) 0);
                    final List<Load.Op> ops = List.of(
                        i ->
                        {
                            // the other value is in memory: this one is read back from spill
                            next[0] ^= 1;
                            try (ReadOnlyBuffer view = kv.getBuffers(keys.get(next[0]), 0).getFirst())
                            {
                                sink = view.data().get(ValueLayout.JAVA_BYTE, size - 1);
                            }
                            gets.incrementAndGet();
                        },
                        i ->
                        {
                            readFully(plain, target.asByteBuffer());
                            sink = target.get(ValueLayout.JAVA_BYTE, size - 1);
                        },
                        i ->
                        {
                            readFully(plain, target.asByteBuffer());
                            final CRC32C crc = new CRC32C();
                            crc.update(target.asByteBuffer());
                            sink = (byte) crc.getValue();
                        },
                        i ->
                        {
                            next[0] ^= 1;
                            sink = kv.get(keys.get(next[0]).getFirst())[n - 1];
                            gets.incrementAndGet();
                        },
                        i ->
                        {
                            readFully(plain, shmTarget.asByteBuffer());
                            sink = shmTarget.get(ValueLayout.JAVA_BYTE, size - 1);
                        });
                    final double[] bandwidth = new double[ops.size()];
                    final Samples[] latencies = new Samples[ops.size()];
                    final String[] errors = new String[ops.size()];
                    if (bench.dropCaches)
                    {
                        cold(ops, size, bandwidth, latencies, errors);
                    }
                    else
                    {
                        final List<Load.Result> results = bench.compare(ops.stream()
                            .map(op -> new Load.Group(1, t -> op)).toList());
                        for (int k = 0; k < ops.size(); k++)
                        {
                            bandwidth[k] = KvBench.bandwidth(size, results.get(k));
                            latencies[k] = results.get(k).latencies();
                            errors[k] = KvBench.error(results.get(k));
                        }
                    }
                    final Metrics end = Metrics.scrape(metricsPort);
                    final double spillHits = end.hits("spill") - start.hits("spill");
                    final double memoryHits = end.hits("memory") - start.hits("memory");
                    final String cache = bench.dropCaches ? "caches dropped before each read" : "page cache warm";
                    final String[] names = {"ds4j get of a spilled " + sz + " value (getBuffers)",
                        "ceiling FileChannel read " + sz + " → direct buffer", "reference FileChannel read + CRC32C "
                        + sz, "ds4j get of a spilled " + sz + " value (kv.get → byte[])",
                        "reference FileChannel read " + sz + " → /dev/shm mapping"};
                    for (int k = 0; k < ops.size(); k++)
                    {
                        out.printf(Locale.ROOT, "  [3a] %-62s %s%n", names[k], value(bandwidth[k], latencies[k],
                            errors[k]));
                    }
                    out.printf(Locale.ROOT, "  [3a] worker counters: %.0f spill hits, %.0f memory hits for %d gets%n",
                        spillHits, memoryHits, gets.get());
                    final String check = String.format(Locale.ROOT, "; %.0f of %d gets were spill hits", spillHits,
                        gets.get());
                    final String plainText = "FileChannel read → direct buffer " + value(bandwidth[1], latencies[1],
                        errors[1]);
                    report.add("3a", "get of a spilled " + sz + " value: spill → pool → zero-copy view"
                            + (zeroCopy ? "" : " (NOT zero-copy)") + " (" + cache + ")",
                        value(bandwidth[0], latencies[0], errors[0]) + check, plainText, bandwidth[0] / bandwidth[1],
                        "≥ 0.70", Report.atLeast(bandwidth[0] / bandwidth[1], 0.7));
                    report.add("3a", "get of a spilled " + sz + " value, against read + CRC32C (" + cache + ")",
                        value(bandwidth[0], latencies[0], errors[0]),
                        "FileChannel read + CRC32C on one thread " + KvBench.gbps(bandwidth[2]),
                        bandwidth[0] / bandwidth[2], "(reference)", "-");
                    report.add("3a", "get of a spilled " + sz + " value, against a read into /dev/shm (" + cache + ")",
                        value(bandwidth[0], latencies[0], errors[0]),
                        "FileChannel read → mapped /dev/shm file " + KvBench.gbps(bandwidth[4]),
                        bandwidth[0] / bandwidth[4], "(reference)", "-");
                    report.add("3a", "copying get of a spilled " + sz + " value (kv.get → byte[]) (" + cache + ")",
                        value(bandwidth[3], latencies[3], errors[3]), plainText, bandwidth[3] / bandwidth[1],
                        "(reference)", "-");
                    if (spillHits != gets.get())
                    {
                        report.note("3a " + sz + ": only " + (long) spillHits + " of " + gets.get() + " gets were"
                            + " spill hits; the figure is not that of a spilled get");
                    }
                }
                finally
                {
                    Files.deleteIfExists(plainFile);
                    Files.deleteIfExists(shmFile);
                }
            }
        }
    }

    /**
     * The cold-cache variant: --slices rounds, each timing every operation once right after a sync and a drop of the
     * page cache, in an order that rotates every round. The bandwidth is the size over the median time: with ten
     * reads of a shared disk, one stalled read would otherwise decide the figure.
     */
    private void cold(final List<Load.Op> ops, final long size, final double[] bandwidth, final Samples[] latencies,
        final String[] errors)
    {
        for (int k = 0; k < ops.size(); k++)
        {
            latencies[k] = new Samples(bench.slices);
        }
        try
        {
            for (int round = 0; round < bench.slices; round++)
            {
                for (int j = 0; j < ops.size(); j++)
                {
                    final int k = (round + j) % ops.size();
                    dropCaches();
                    final long t0 = System.nanoTime();
                    ops.get(k).run(round);
                    latencies[k].add(System.nanoTime() - t0);
                }
            }
            for (int k = 0; k < ops.size(); k++)
            {
                bandwidth[k] = size / (latencies[k].median() / 1e9);
            }
        }
        catch (final Exception e)
        {
            Arrays.fill(errors, "FAILED: " + e);
            Arrays.fill(bandwidth, Double.NaN);
        }
    }

    private static void dropCaches() throws IOException, InterruptedException
    {
        final Process sync = new ProcessBuilder("sync").inheritIO().start();
        if (!sync.waitFor(120, TimeUnit.SECONDS))
        {
            sync.destroyForcibly();
            throw new IOException("sync took over 120 s");
        }
        Files.writeString(DROP_CACHES, "3");
    }

    private String value(final double bytesPerSecond, final Samples latencies, final String error)
    {
        if (error != null)
        {
            return error;
        }
        return KvBench.gbps(bytesPerSecond) + (bench.dropCaches ? " at the median read (p50 " : " (p50 ")
            + KvBench.ms(latencies.median()) + (bench.dropCaches ? ", slowest " + KvBench.ms(latencies.quantile(1))
            : "") + ")";
    }

    // ---------------------------------------------------------------- 3b. Zipf working set under eviction

    /** What the cache-aside client saw. */
    private static final class CacheAside
    {
        long hits;
        long misses;
        long setFailures;
        String lastSetFailure;
        final Samples gets = new Samples(ZIPF_MAX_MEASURED);
    }

    private void zipf() throws IOException
    {
        final int valueSize = Math.toIntExact(KvBench.parseSize(bench.zipfValueSize));
        final long block = new PoolAllocator(1L << 30, 64).blockSize(ObjectHeader.LENGTH + valueSize);
        final SetParam evictable = SetParam.builder().writeMode(WriteMode.NONE_L2_CACHE_EVICT).build();
        final byte[] value = KvBench.random(valueSize);
        final int metricsPort = FreePorts.next();
        try (BenchWorker worker = BenchWorker.start(bench.zipfPoolMb,
            bench.workerFlags(Map.of("metrics_port", Integer.toString(metricsPort))));
             DsClient client = bench.connect(worker, ConnectOptions.Transport.AUTO))
        {
            final Metrics initial = Metrics.scrape(metricsPort);
            final long capacity = (long) initial.get("ds4j_pool_capacity_bytes");
            final long fit = capacity / block;
            final int keys = (int) Math.round(bench.zipfRatio * capacity / block);
            final int warm = (int) Math.min(Integer.MAX_VALUE / 2, bench.zipfWarmupFills * fit);
            final long t0 = System.nanoTime();
            final int[] trace = EvictionSimulator.zipfTrace(keys, bench.zipfAlpha, warm + ZIPF_MAX_MEASURED,
                bench.zipfSeed);
            final String[] names = new String[keys];
            for (int k = 0; k < keys; k++)
            {
                names[k] = String.format(Locale.ROOT, "zipf-%07d", k);
            }
            out.printf(Locale.ROOT, "zipf: worker pid %d, pool %d MiB (capacity %s, %d values of %s in %d B blocks);"
                    + " %d keys (%s), Zipf(%.2f) trace of %,d requests made in %.1f s; %s%n", worker.pid(),
                bench.zipfPoolMb, KvBench.mib(capacity), fit, KvBench.label(valueSize), block, keys,
                KvBench.mib(keys * block), bench.zipfAlpha, trace.length, (System.nanoTime() - t0) / 1e9,
                String.join(" ", KvBench.shorten(worker.command())));
            final KvClient kv = client.kv();
            final CacheAside warmSeen = new CacheAside();
            final long w0 = System.nanoTime();
            for (int i = 0; i < warm; i++)
            {
                cacheAside(kv, names[trace[i]], value, evictable, warmSeen, false);
            }
            out.printf(Locale.ROOT, "  [3b] warm-up: %,d requests in %.1f s, hit ratio %.2f%%%n", warm,
                (System.nanoTime() - w0) / 1e9, 100.0 * warmSeen.hits / Math.max(1, warm));
            // the reference: the same trace on a worker that holds the whole working set (below its evictor's mark)
            final int referencePoolMb = (int) ((keys * block / 0.85 + 16 * MIB + MIB - 1) / MIB);
            try (BenchWorker reference = BenchWorker.start(referencePoolMb, bench.workerFlags(Map.of()));
                 DsClient referenceClient = bench.connect(reference, ConnectOptions.Transport.AUTO))
            {
                final KvClient referenceKv = referenceClient.kv();
                final int batch = (int) Math.max(1, 4 * MIB / valueSize);
                for (int from = 0; from < keys; from += batch)
                {
                    final int to = Math.min(keys, from + batch);
                    final List<byte[]> values = new ArrayList<>(to - from);
                    for (int k = from; k < to; k++)
                    {
                        values.add(value);
                    }
                    final List<String> failed = referenceKv.mset(Arrays.asList(names).subList(from, to), values,
                        evictable);
                    if (!failed.isEmpty())
                    {
                        throw new IOException("loading the reference worker failed for " + failed.size() + " keys");
                    }
                }
                final CacheAside seen = new CacheAside();
                final Metrics before = Metrics.scrape(metricsPort);
                final long[] resident = new long[2];
                final AtomicBoolean sampling = new AtomicBoolean(true);
                final Thread sampler = Thread.ofPlatform().daemon().name("dsbench-metrics").start(() ->
                {
                    while (sampling.get())
                    {
                        try
                        {
                            final double bytes = Metrics.scrape(metricsPort).get("ds4j_tier_bytes{tier=\"memory\"}");
                            if (!Double.isNaN(bytes))
                            {
                                synchronized (resident)
                                {
                                    resident[0] += (long) bytes;
                                    resident[1]++;
                                }
                            }
                            Thread.sleep(100);
                        }
                        catch (final IOException | RuntimeException e)
                        {
                            // a missed sample
                        }
                        catch (final InterruptedException e)
                        {
                            return;
                        }
                    }
                });
                final List<Load.Result> results;
                try
                {
                    final int perSlice = ZIPF_MAX_MEASURED / bench.slices;
                    results = Load.interleaved(List.of(
                        new Load.Group(1, t -> i -> cacheAside(kv, names[trace[warm + (int) i]], value, evictable,
                            seen, true)),
                        new Load.Group(1, t -> i -> sink = referenceKv.get(names[trace[(int) i]])[0])),
                        0, bench.durationMs, bench.slices, perSlice);
                }
                finally
                {
                    sampling.set(false);
                    sampler.interrupt();
                }
                final Metrics after = Metrics.scrape(metricsPort);
                final Load.Result pressured = results.get(0);
                final Load.Result unpressured = results.get(1);
                if (!pressured.ok() || !unpressured.ok())
                {
                    final String error = !pressured.ok() ? pressured.error() : unpressured.error();
                    report.add("3b", "Zipf working set under eviction", "FAILED: " + error, "-", Double.NaN,
                        "(report)", "n/a");
                    return;
                }
                final long measured = seen.hits + seen.misses;
                final double hitRatio = (double) seen.hits / measured;
                final double workerHits = after.delta(before, "ds4j_hits_total{tier=\"memory\"}");
                final double workerMisses = after.delta(before, "ds4j_misses_total");
                final double drops = after.delta(before, "ds4j_evictions_total{action=\"drop\"}");
                final long meanResident;
                synchronized (resident)
                {
                    meanResident = resident[1] == 0 ? capacity : resident[0] / resident[1];
                }
                // the simulations replay exactly the requests the client made, warm-up included but not counted
                final int[] replay = Arrays.copyOf(trace, (int) (warm + measured));
                final long[] sizes = new long[keys];
                Arrays.fill(sizes, block);
                final double lruSame = EvictionSimulator.run(new LruPolicy<>(), replay, sizes, meanResident, warm)
                    .hitRatio();
                final double s3Same = EvictionSimulator.run(new S3FifoPolicy<Integer>(meanResident, Integer::intValue),
                    replay, sizes, meanResident, warm).hitRatio();
                final double lruFull = EvictionSimulator.run(new LruPolicy<>(), replay, sizes, capacity, warm)
                    .hitRatio();
                final double s3Full = EvictionSimulator.run(new S3FifoPolicy<Integer>(capacity, Integer::intValue),
                    replay, sizes, capacity, warm).hitRatio();
                out.printf(Locale.ROOT, "  [3b] measured %,d requests: client hit ratio %.2f%% (worker counters: %.0f"
                        + " memory hits, %.0f misses, %.0f dropped); mean resident %s of %s (%.0f%%)%n", measured,
                    100 * hitRatio, workerHits, workerMisses, drops, KvBench.mib(meanResident),
                    KvBench.mib(capacity), 100.0 * meanResident / capacity);
                out.printf(Locale.ROOT, "  [3b] simulated on the same requests: LRU %.2f%% / S3-FIFO %.2f%% with the"
                        + " resident bytes, LRU %.2f%% / S3-FIFO %.2f%% with the whole pool%n", 100 * lruSame,
                    100 * s3Same, 100 * lruFull, 100 * s3Full);
                if (seen.setFailures > 0)
                {
                    report.note("3b: " + seen.setFailures + " cache-aside sets failed, last: " + seen.lastSetFailure);
                }
                final String what = String.format(Locale.ROOT, "memory-tier hit ratio, Zipf(%.2f), working set %.1fx"
                        + " the pool (%d × %s, NONE_L2_CACHE_EVICT, no spill), cache-aside, 1 thread",
                    bench.zipfAlpha, bench.zipfRatio, keys, KvBench.label(valueSize));
                final String workerText = String.format(Locale.ROOT, "%.2f%% of %,d gets (S3-FIFO, watermarks"
                    + " %s/%s; mean resident %.0f%% of the pool)", 100 * hitRatio, measured,
                    worker.flags().get("eviction_high_watermark_ratio"),
                    worker.flags().get("eviction_low_watermark_ratio"), 100.0 * meanResident / capacity);
                report.add("3b", what, workerText, String.format(Locale.ROOT, "LRU simulated, same requests, same"
                        + " bytes (the worker's mean resident %s): %.2f%%", KvBench.mib(meanResident), 100 * lruSame),
                    hitRatio / lruSame, "≥ 1.00 (the policy beats LRU)", Report.atLeast(hitRatio / lruSame, 1.0));
                report.add("3b", "memory-tier hit ratio vs S3-FIFO simulated (same requests, same bytes)", workerText,
                    String.format(Locale.ROOT, "S3-FIFO simulated: %.2f%%", 100 * s3Same), hitRatio / s3Same,
                    "(reference: the policy the worker runs)", "-");
                report.add("3b", "memory-tier hit ratio vs policies simulated with the whole pool", workerText,
                    String.format(Locale.ROOT, "LRU %.2f%%, S3-FIFO %.2f%%, holding up to the pool's %s (ratio vs"
                        + " LRU)", 100 * lruFull, 100 * s3Full, KvBench.mib(capacity)), hitRatio / lruFull,
                    "≥ 1.00 (the tier beats LRU)", Report.atLeast(hitRatio / lruFull, 1.0));
                final Samples gets = seen.gets;
                final Samples unpressuredGets = unpressured.latencies();
                report.add("3b", "get latency under eviction pressure (hits and misses), p50 / p99",
                    KvBench.us(gets.median() / 1000) + " / " + KvBench.us(gets.p99() / 1000) + "; cache-aside"
                        + " request (get, set on a miss) " + KvBench.us(pressured.latencies().median() / 1000) + " / "
                        + KvBench.us(pressured.latencies().p99() / 1000) + ", " + KvBench.count(pressured.opsPerSecond())
                        + " req/s",
                    "same trace, worker holding the whole working set: " + KvBench.us(unpressuredGets.median() / 1000)
                        + " / " + KvBench.us(unpressuredGets.p99() / 1000) + ", " + KvBench.count(unpressured.opsPerSecond())
                        + " gets/s (ratio = p99 / p99)", gets.p99() / unpressuredGets.p99(), "(report)", "-");
            }
        }
    }

    /** One cache-aside request: get; when the key is missing, set it. */
    private void cacheAside(final KvClient kv, final String key, final byte[] value, final SetParam param,
        final CacheAside seen, final boolean timed)
    {
        final long t0 = System.nanoTime();
        byte[] got;
        try
        {
            got = kv.get(key);
        }
        catch (final DsException e)
        {
            if (e.code() != StatusCode.NOT_FOUND)
            {
                throw e;
            }
            got = null;
        }
        if (timed)
        {
            seen.gets.add(System.nanoTime() - t0);
        }
        if (got != null)
        {
            seen.hits++;
            sink = got[got.length - 1];
            return;
        }
        seen.misses++;
        try
        {
            kv.set(key, value, param);
        }
        catch (final DsException e)
        {
            seen.setFailures++;
            seen.lastSetFailure = e.getMessage();
        }
    }

    // ---------------------------------------------------------------- 3c. WRITE_THROUGH sets

    private void writeThrough() throws IOException
    {
        final List<Long> sizes = bench.l2Sizes.stream().map(KvBench::parseSize).toList();
        final long largest = sizes.stream().mapToLong(Long::longValue).max().orElse(MIB);
        final Path sfs = Files.createDirectories(base.resolve("sfs"));
        // the ceilings write next to the L2's own directory (sfs_path/ds4j-l2), in sfs_path
        final Path manual = Files.createDirectories(sfs.resolve("l2-steps"));
        final Path plainDir = Files.createDirectories(sfs.resolve("plain"));
        final Path inProcess = Files.createDirectories(base.resolve("sfs-in-process"));
        // the values of two sizes' keys, the old ones kept until the new replace them, with room to spare
        final int poolMb = (int) Math.max(256, (4 * L2_KEYS * largest + 64 * MIB) / MIB);
        final int metricsPort = FreePorts.next();
        final Map<String, String> flags = new LinkedHashMap<>();
        flags.put("l2_cache_type", "sfs");
        flags.put("sfs_path", sfs.toString());
        flags.put("metrics_port", Integer.toString(metricsPort));
        final SetParam writeThrough = SetParam.builder().writeMode(WriteMode.WRITE_THROUGH_L2_CACHE).build();
        try (BenchWorker worker = BenchWorker.start(poolMb, bench.workerFlags(flags));
             DsClient client = bench.connect(worker, ConnectOptions.Transport.AUTO);
             SfsL2Cache local = new SfsL2Cache(inProcess, "");
             Arena arena = Arena.ofShared())
        {
            out.println("l2: worker pid " + worker.pid() + ", pool " + poolMb + " MiB, "
                + String.join(" ", KvBench.shorten(worker.command())));
            final KvClient kv = client.kv();
            for (final long size : sizes)
            {
                final int n = Math.toIntExact(size);
                final String sz = KvBench.label(size);
                final byte[] value = KvBench.random(n);
                final MemorySegment direct = arena.allocate(size, 4096);
                MemorySegment.copy(MemorySegment.ofArray(value), 0, direct, 0, size);
                final String[] keys = new String[L2_KEYS];
                final String[] plainKeys = new String[L2_KEYS];
                for (int k = 0; k < L2_KEYS; k++)
                {
                    keys[k] = "wt-" + n + "-" + k;
                    plainKeys[k] = "none-" + n + "-" + k;
                }
                final Metrics before = Metrics.scrape(metricsPort);
                final AtomicLong sets = new AtomicLong();
                final long[] sequence = {0};
                final List<Path> plainFiles = new ArrayList<>();
                final Map<Integer, Long> versions = new HashMap<>();
                final List<Load.Result> r;
                try
                {
                    r = bench.compare(List.of(
                        new Load.Group(1, t -> i ->
                        {
                            kv.set(keys[(int) (i % L2_KEYS)], value, writeThrough);
                            sets.incrementAndGet();
                        }),
                        new Load.Group(1, t -> i ->
                        {
                            final Path file = plainDir.resolve("plain-" + n + "-" + sequence[0]++);
                            plainFiles.add(file);
                            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                                StandardOpenOption.WRITE))
                            {
                                writeFully(channel, direct.asByteBuffer(), 0);
                                channel.force(true);
                            }
                            // as many files live as the L2 has records: a rename over a record unlinks the old one
                            if (plainFiles.size() > L2_KEYS)
                            {
                                Files.delete(plainFiles.removeFirst());
                            }
                        }),
                        new Load.Group(1, t -> i ->
                        {
                            final Path temp = manual.resolve("tmp-" + n + "-" + sequence[0]++);
                            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                                StandardOpenOption.WRITE))
                            {
                                writeFully(channel, direct.asByteBuffer(), 0);
                                channel.force(true);
                            }
                            Files.move(temp, manual.resolve("rec-" + n + "-" + (i % L2_KEYS)),
                                StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                            try (FileChannel directory = FileChannel.open(manual, StandardOpenOption.READ))
                            {
                                directory.force(true);
                            }
                        }),
                        new Load.Group(1, t -> i ->
                        {
                            final int k = (int) (i % L2_KEYS);
                            final long version = versions.merge(k, 1L, Long::sum);
                            local.put(keys[k], version, 0, direct);
                        }),
                        new Load.Group(1, t -> i -> kv.set(plainKeys[(int) (i % L2_KEYS)], value))));
                }
                finally
                {
                    for (final Path file : plainFiles)
                    {
                        Files.deleteIfExists(file);
                    }
                }
                final Metrics after = Metrics.scrape(metricsPort);
                final double written = after.delta(before, "ds4j_l2_writes_total{result=\"ok\"}");
                final String[] names = {"ds4j WRITE_THROUGH set " + sz, "ceiling write + fsync (new file) " + sz,
                    "ceiling the L2's steps by hand " + sz, "reference SfsL2Cache.put in this JVM " + sz,
                    "reference ds4j NONE_L2_CACHE set " + sz};
                for (int k = 0; k < names.length; k++)
                {
                    out.printf(Locale.ROOT, "  [3c] %-62s %s%n", names[k], rate(size, r.get(k)));
                }
                out.printf(Locale.ROOT, "  [3c] worker counters: %.0f L2 writes ok for %d sets%n", written, sets.get());
                final double wt = r.get(0).ok() ? r.get(0).opsPerSecond() : Double.NaN;
                final double steps = r.get(2).ok() ? r.get(2).opsPerSecond() : Double.NaN;
                final double plain = r.get(1).ok() ? r.get(1).opsPerSecond() : Double.NaN;
                final double put = r.get(3).ok() ? r.get(3).opsPerSecond() : Double.NaN;
                final double none = r.get(4).ok() ? r.get(4).opsPerSecond() : Double.NaN;
                final String check = written == sets.get() ? ""
                    : String.format(Locale.ROOT, "; only %.0f L2 writes for %d sets", written, sets.get());
                report.add("3c", "WRITE_THROUGH set " + sz + " (sfs L2)", rate(size, r.get(0)) + check,
                    "write + fsync + rename + fsync dir (the L2's steps by hand) " + rate(size, r.get(2)),
                    wt / steps, "≥ 0.70", Report.atLeast(wt / steps, 0.7));
                report.add("3c", "WRITE_THROUGH set " + sz + " vs plain write + fsync", rate(size, r.get(0)),
                    "write + fsync of a new file (and unlink of the " + L2_KEYS + "th-last) " + rate(size, r.get(1)),
                    wt / plain, "(reference)", "-");
                report.add("3c", "SfsL2Cache.put " + sz + " in this JVM (no worker, no protocol)",
                    rate(size, r.get(3)), "the L2's steps by hand " + rate(size, r.get(2)), put / steps,
                    "(reference)", "-");
                report.add("3c", "WRITE_THROUGH set " + sz + " vs the same set without L2", rate(size, r.get(0)),
                    "NONE_L2_CACHE set " + rate(size, r.get(4)), wt / none, "(reference)", "-");
                if (written != sets.get())
                {
                    report.note("3c " + sz + ": the worker counted " + (long) written + " L2 writes for " + sets.get()
                        + " WRITE_THROUGH sets");
                }
            }
        }
    }

    private static String rate(final long size, final Load.Result result)
    {
        if (!result.ok())
        {
            return "FAILED: " + result.error();
        }
        return String.format(Locale.ROOT, "%s ops/s, %.0f MB/s (p50 %s, p99 %s)", KvBench.count(result.opsPerSecond()),
            result.opsPerSecond() * size / 1e6, KvBench.ms(result.latencies().median()),
            KvBench.ms(result.latencies().p99()));
    }

    // ---------------------------------------------------------------- I/O helpers

    private static void writeFully(final FileChannel channel, final ByteBuffer buffer, final long position)
        throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            at += channel.write(buffer, at);
        }
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer) throws IOException
    {
        long at = 0;
        while (buffer.hasRemaining())
        {
            final int read = channel.read(buffer, at);
            if (read < 0)
            {
                throw new IOException("the file ended after " + at + " bytes");
            }
            at += read;
        }
    }
}
