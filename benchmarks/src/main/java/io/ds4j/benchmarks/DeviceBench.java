package io.ds4j.benchmarks;

import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.client.hetero.Blob;
import io.ds4j.client.hetero.DeviceBlobList;
import io.ds4j.client.hetero.FragmentLayout;
import io.ds4j.client.hetero.HeteroClient;
import io.ds4j.device.DeviceMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dsbench device}: msetD2H (D2H) and mgetH2D (H2D) with the chariot-ds table's shapes (Qwen2.5: 28 fragments
 * of 1 MiB per key; DeepSeek V3: 62 of 72 KiB), through a real worker, each beside the bare copy of the same bytes
 * measured in the same run: {@link DeviceMemory#gather}/{@link DeviceMemory#scatter} into a pinned native buffer
 * (cudaMemcpyAsync from pinned memory on a GPU; {@link MemorySegment#copy} on the host implementation), and a plain
 * {@link MemorySegment#copy} of the fragments. Where a figure misses its target, the data plane alone (mcreate and
 * msetBuffer of the same sizes without copies; getBuffers and close) says where the time went.
 */
@Command(name = "device", mixinStandardHelpOptions = true,
    description = {"msetD2H / mgetH2D with the chariot-ds shapes against bare copies of the same bytes.",
        "On the host implementation (no GPU) the reference is memcpy (MemorySegment.copy); target >= 90%%."})
final class DeviceBench implements Callable<Integer>
{
    private static final long MIB = 1 << 20;

    @Option(names = {"-d", "--seconds"}, description = "seconds per figure, in 10 interleaved rounds (default ${DEFAULT-VALUE})")
    double seconds = 3;

    @Option(names = "--device", description = "auto, host or cuda (default ${DEFAULT-VALUE})")
    String device = "auto";

    @Option(names = "--pool-mb", description = "worker pool size in MiB (default ${DEFAULT-VALUE})")
    int poolMb = 1024;

    record Shape(String name, int fragments, long fragmentSize, int keysPerCall)
    {
        long keyBytes()
        {
            return fragments * fragmentSize;
        }
    }

    static final List<Shape> SHAPES = List.of(
        new Shape("Qwen2.5 (1 MiB x 28)", 28, MIB, 4),
        new Shape("DeepSeek V3 (72 KiB x 62)", 62, 72 * 1024, 16));

    @Override
    public Integer call() throws Exception
    {
        final PrintStream out = System.out;
        System.setProperty("ds4j.device", device);
        MachineInfo.describe().forEach(line -> out.println("# " + line));
        final Report report = new Report();
        try (BenchWorker worker = BenchWorker.start(poolMb, Map.of());
             DsClient client = DsClient.connect("127.0.0.1", worker.port()))
        {
            final HeteroClient hetero = client.hetero();
            final DeviceMemory memory = hetero.deviceMemory();
            out.println("# device memory: " + memory.description() + "; shared memory: " + client.usesSharedMemory());
            out.println();
            for (final Shape shape : SHAPES)
            {
                measure(shape, client, hetero, memory, report, out);
            }
            for (final Shape shape : SHAPES)
            {
                measureDevMget(shape, worker.port(), hetero, memory, report, out);
            }
            if (!memory.isAccelerator())
            {
                report.note("GPU figures (beside cudaMemcpy from pinned memory, and the chariot-ds 37.5 GB/s H2D and"
                    + " 17.3 GB/s D2H on Ascend A3): not measured: no GPU in this run (" + memory.description() + ")");
            }
        }
        out.println();
        report.printText(out);
        return 0;
    }

    private void measure(final Shape shape, final DsClient client, final HeteroClient hetero,
        final DeviceMemory memory, final Report report, final PrintStream out)
    {
        final int keysPerCall = shape.keysPerCall();
        final List<String> keys = new ArrayList<>();
        final List<DeviceBlobList> blobs = new ArrayList<>();
        final long[] bases = new long[keysPerCall];
        for (int k = 0; k < keysPerCall; k++)
        {
            keys.add("bench-" + shape.fragments() + "-" + k);
            bases[k] = memory.malloc(0, shape.keyBytes());
            final List<Blob> list = new ArrayList<>();
            for (int f = 0; f < shape.fragments(); f++)
            {
                list.add(new Blob(bases[k] + f * shape.fragmentSize(), shape.fragmentSize()));
            }
            blobs.add(new DeviceBlobList(0, list));
        }
        final long callBytes = shape.keyBytes() * keysPerCall;
        try (Arena arena = Arena.ofShared())
        {
            // the bare copies' host side: native, touched, pinned once, as the pool is; on the host implementation
            // shared memory of the same kind as the pool (a tmpfs mapping), so the reference copies the same kinds
            final long hostBytes = callBytes + keysPerCall * 1024L;
            final long hostBuffer = memory.isAccelerator() ? 0 : memory.malloc(memory.deviceCount() - 1, hostBytes);
            final MemorySegment host = memory.isAccelerator() ? arena.allocate(hostBytes, 4096)
                : MemorySegment.ofAddress(hostBuffer).reinterpret(hostBytes);
            host.fill((byte) 1);
            memory.registerHost(host);
            final long stream = memory.createStream(0);
            final long[] pointers = new long[shape.fragments()];
            final long[] sizes = new long[shape.fragments()];
            final MemorySegment[] fragmentViews = new MemorySegment[shape.fragments() * keysPerCall];
            for (int k = 0; k < keysPerCall; k++)
            {
                for (int f = 0; f < shape.fragments(); f++)
                {
                    fragmentViews[k * shape.fragments() + f] = memory.isAccelerator() ? null
                        : MemorySegment.ofAddress(blobs.get(k).blobs().get(f).devPtr())
                            .reinterpret(shape.fragmentSize());
                }
            }

            final Runnable d2h = () -> hetero.msetD2H(keys, blobs, SetParam.DEFAULT);
            final Runnable h2d = () -> hetero.mgetH2D(keys, blobs, 0);
            final Runnable gather = () -> bareCopies(memory, blobs, pointers, sizes, host, stream, true);
            final Runnable scatter = () -> bareCopies(memory, blobs, pointers, sizes, host, stream, false);
            final Runnable memcpyOut = () -> memcpy(fragmentViews, host, true);
            final Runnable memcpyIn = () -> memcpy(fragmentViews, host, false);
            final long[] objectSizes = new long[keysPerCall];
            for (int k = 0; k < keysPerCall; k++)
            {
                objectSizes[k] = FragmentLayout.objectSize(sizesOf(shape), shape.fragments());
            }
            final Runnable planeSet = () -> client.kv().msetBuffer(client.kv().mcreate(keys, objectSizes,
                SetParam.DEFAULT));
            final Runnable planeGet = () -> client.kv().getBuffers(keys, 0).forEach(buffer -> buffer.close());

            // memcpy of the same fragments into pool regions made once and never published: the copy msetD2H makes,
            // without the set's cycle through fresh regions of the pool
            final List<WritableBuffer> poolRegions = memory.isAccelerator() ? List.of()
                : client.kv().mcreate(keys, objectSizes, SetParam.DEFAULT);
            final MemorySegment[] poolSlices = new MemorySegment[poolRegions.size()];
            for (int k = 0; k < poolSlices.length; k++)
            {
                poolSlices[k] = poolRegions.get(k).data().asSlice(FragmentLayout.dataOffset(shape.fragments()));
            }
            final Runnable memcpyPool = () ->
            {
                for (int k = 0; k < poolSlices.length; k++)
                {
                    for (int f = 0; f < shape.fragments(); f++)
                    {
                        final MemorySegment fragment = fragmentViews[k * shape.fragments() + f];
                        MemorySegment.copy(fragment, 0, poolSlices[k], f * shape.fragmentSize(), fragment.byteSize());
                    }
                }
            };
            final Runnable memcpyFromPool = () ->
            {
                for (int k = 0; k < poolSlices.length; k++)
                {
                    for (int f = 0; f < shape.fragments(); f++)
                    {
                        final MemorySegment fragment = fragmentViews[k * shape.fragments() + f];
                        MemorySegment.copy(poolSlices[k], f * shape.fragmentSize(), fragment, 0, fragment.byteSize());
                    }
                }
            };

            d2h.run();
            h2d.run();
            // interleaved rounds, best of each: on a shared machine the least disturbed round is the one to compare
            final double[] d2hRates = bestOf(callBytes, d2h, gather, memory.isAccelerator() ? null : memcpyOut,
                planeSet, memory.isAccelerator() ? null : memcpyPool);
            final double[] d2hFaults = faultsPerGb;
            d2h.run();
            final double[] h2dRates = bestOf(callBytes, h2d, scatter, memory.isAccelerator() ? null : memcpyIn,
                planeGet, memory.isAccelerator() ? null : memcpyFromPool);
            poolRegions.forEach(WritableBuffer::close);
            final double[] h2dFaults = faultsPerGb;
            final double d2hRate = d2hRates[0];
            final double gatherRate = d2hRates[1];
            final double memcpyOutRate = d2hRates[2];
            final double planeSetRate = d2hRates[3];
            final double h2dRate = h2dRates[0];
            final double scatterRate = h2dRates[1];
            final double memcpyInRate = h2dRates[2];
            final double planeGetRate = h2dRates[3];

            final String bare = memory.isAccelerator() ? "cudaMemcpyAsync, pinned" : "gather (MemorySegment.copy)";
            // the ceiling: the faster of the two bare copies of the same bytes (on the host implementation they do the
            // same work, and the faster one is the less disturbed)
            final String reference = memory.isAccelerator() ? bare : "memcpy";
            final double d2hReference = memory.isAccelerator() ? gatherRate : Math.max(gatherRate, memcpyOutRate);
            final double h2dReference = memory.isAccelerator() ? scatterRate : Math.max(scatterRate, memcpyInRate);
            report.add("D2H", shape.name() + ": msetD2H, " + keysPerCall + " keys/call", gbs(d2hRate),
                reference + " " + gbs(d2hReference), d2hRate / d2hReference, ">= 0.90",
                Report.atLeast(d2hRate / d2hReference, 0.9));
            report.add("H2D", shape.name() + ": mgetH2D, " + keysPerCall + " keys/call", gbs(h2dRate),
                reference + " " + gbs(h2dReference), h2dRate / h2dReference, ">= 0.90",
                Report.atLeast(h2dRate / h2dReference, 0.9));
            out.printf(Locale.ROOT, "%s: D2H %s (bare %s %s, memcpy %s; data plane alone %s), H2D %s (bare %s,"
                    + " memcpy %s; data plane alone %s)%n", shape.name(), gbs(d2hRate), bare, gbs(gatherRate),
                gbs(memcpyOutRate), gbs(planeSetRate), gbs(h2dRate), gbs(scatterRate), gbs(memcpyInRate),
                gbs(planeGetRate));
            out.printf(Locale.ROOT, "  memcpy into pool regions made once (no set cycle): %s; from them: %s%n",
                gbs(d2hRates[4]), gbs(h2dRates[4]));
            out.printf(Locale.ROOT, "  minor page faults per GB moved: D2H %.0f, its bare gather %.0f, memcpy %.0f,"
                + " memcpy into the pool %.0f; H2D %.0f, its bare scatter %.0f, memcpy %.0f%n", d2hFaults[0],
                d2hFaults[1], d2hFaults[2], d2hFaults[4], h2dFaults[0], h2dFaults[1], h2dFaults[2]);
            memory.destroyStream(0, stream);
            memory.unregisterHost(host);
            if (hostBuffer != 0)
            {
                memory.free(memory.deviceCount() - 1, hostBuffer);
            }
        }
        hetero.delete(keys);
        for (final long base : bases)
        {
            memory.free(0, base);
        }
    }

    /**
     * devMget from another process on this host (through its IPC handles: one DEV_MGET, then per key open the
     * handle, copy device to device, close) beside a bare device-to-device copy of the same fragments between two
     * allocations of this process.
     */
    private void measureDevMget(final Shape shape, final int port, final HeteroClient hetero,
        final DeviceMemory memory, final Report report, final PrintStream out) throws java.io.IOException
    {
        final int keysPerCall = shape.keysPerCall();
        final String javaCommand = ProcessHandle.current().info().command().orElse("java");
        final Process producer = new ProcessBuilder(javaCommand, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
            "-cp",            System.getProperty("java.class.path"), DeviceProducer.class.getName(), "127.0.0.1",
            Integer.toString(port), device, Integer.toString(keysPerCall), Integer.toString(shape.fragments()),
            Long.toString(shape.fragmentSize())).redirectErrorStream(true).start();
        Children.register(producer::destroyForcibly);
        try
        {
            final java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(
                producer.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null && !line.startsWith("READY"))
            {
                // the producer's log lines
            }
            if (line == null || !line.equals("READY []"))
            {
                throw new IllegalStateException("the producer process did not register its objects: " + line);
            }
            final int target = Math.min(1, memory.deviceCount() - 1);
            final List<String> keys = new ArrayList<>();
            final List<DeviceBlobList> blobs = new ArrayList<>();
            final long[] bases = new long[keysPerCall * 2];
            for (int k = 0; k < keysPerCall; k++)
            {
                keys.add("bench-dev-" + k);
                bases[k] = memory.malloc(target, shape.keyBytes());
                bases[keysPerCall + k] = memory.malloc(target, shape.keyBytes());
                final List<Blob> list = new ArrayList<>();
                for (int f = 0; f < shape.fragments(); f++)
                {
                    list.add(new Blob(bases[k] + f * shape.fragmentSize(), shape.fragmentSize()));
                }
                blobs.add(new DeviceBlobList(target, list));
            }
            final long callBytes = shape.keyBytes() * keysPerCall;
            final Runnable devMget = () ->
            {
                if (!hetero.devMget(keys, blobs, 0).isEmpty())
                {
                    throw new IllegalStateException("devMget failed keys");
                }
            };
            final Runnable bare = () ->
            {
                for (int k = 0; k < keysPerCall; k++)
                {
                    for (int f = 0; f < shape.fragments(); f++)
                    {
                        final long offset = f * shape.fragmentSize();
                        memory.copyDeviceToDevice(target, bases[k] + offset, bases[keysPerCall + k] + offset,
                            shape.fragmentSize());
                    }
                }
            };
            devMget.run();
            final double[] rates = bestOf(callBytes, devMget, bare);
            report.add("D2D", shape.name() + ": devMget via IPC, " + keysPerCall + " keys/call", gbs(rates[0]),
                "bare D2D copy " + gbs(rates[1]), rates[0] / rates[1], ">= 0.90", Report.atLeast(rates[0] / rates[1],
                    0.9));
            out.printf(Locale.ROOT, "%s: devMget from another process %s, bare device-to-device copy %s%n",
                shape.name(), gbs(rates[0]), gbs(rates[1]));
            for (final long base : bases)
            {
                memory.free(target, base);
            }
        }
        finally
        {
            producer.getOutputStream().close();
            try
            {
                if (!producer.waitFor(10, java.util.concurrent.TimeUnit.SECONDS))
                {
                    producer.destroyForcibly();
                }
            }
            catch (final InterruptedException e)
            {
                producer.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static long[] sizesOf(final Shape shape)
    {
        final long[] sizes = new long[shape.fragments()];
        java.util.Arrays.fill(sizes, shape.fragmentSize());
        return sizes;
    }

    /** The device batch calls alone, into (or from) one pinned native buffer: the ceiling of the device link. */
    private static void bareCopies(final DeviceMemory memory, final List<DeviceBlobList> blobs, final long[] pointers,
        final long[] sizes, final MemorySegment host, final long stream, final boolean toHost)
    {
        long offset = 0;
        for (final DeviceBlobList list : blobs)
        {
            final int count = list.blobs().size();
            long keyBytes = 0;
            for (int i = 0; i < count; i++)
            {
                pointers[i] = list.blobs().get(i).devPtr();
                sizes[i] = list.blobs().get(i).size();
                keyBytes += sizes[i];
            }
            final MemorySegment slice = host.asSlice(offset, keyBytes);
            if (toHost)
            {
                memory.gather(0, pointers, sizes, count, slice, stream);
            }
            else
            {
                memory.scatter(0, slice, pointers, sizes, count, stream);
            }
            offset += keyBytes;
        }
    }

    /** memcpy of the same fragments (host implementation only: its device pointers are host addresses). */
    private static void memcpy(final MemorySegment[] fragments, final MemorySegment host, final boolean toHost)
    {
        long offset = 0;
        for (final MemorySegment fragment : fragments)
        {
            if (toHost)
            {
                MemorySegment.copy(fragment, 0, host, offset, fragment.byteSize());
            }
            else
            {
                MemorySegment.copy(host, offset, fragment, 0, fragment.byteSize());
            }
            offset += fragment.byteSize();
        }
    }

    private static final int ROUNDS = 10;
    /** Minor page faults of this process per op of the last {@link #bestOf}, per GB moved (a counter for misses). */
    private double[] faultsPerGb = new double[0];

    /**
     * The best rate of each op (null: NaN) over {@link #ROUNDS} interleaved rounds of {@link #seconds} / ROUNDS each,
     * in bytes per second, each run moving {@code bytes}.
     */
    private double[] bestOf(final long bytes, final Runnable... ops)
    {
        final double[] best = new double[ops.length];
        final long[] faults = new long[ops.length];
        final double[] moved = new double[ops.length];
        java.util.Arrays.fill(best, Double.NaN);
        for (int round = 0; round < ROUNDS; round++)
        {
            for (int i = 0; i < ops.length; i++)
            {
                if (ops[i] != null)
                {
                    final long before = minorFaults();
                    final double[] result = rate(ops[i], bytes, seconds / ROUNDS);
                    faults[i] += minorFaults() - before;
                    moved[i] += result[1];
                    best[i] = Double.isNaN(best[i]) ? result[0] : Math.max(best[i], result[0]);
                }
            }
        }
        faultsPerGb = new double[ops.length];
        for (int i = 0; i < ops.length; i++)
        {
            faultsPerGb[i] = moved[i] == 0 ? Double.NaN : faults[i] / (moved[i] / 1e9);
        }
        return best;
    }

    /** This process's minor page faults so far (/proc/self/stat, field 10). */
    private static long minorFaults()
    {
        try
        {
            final String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[7]);
        }
        catch (final java.io.IOException | RuntimeException e)
        {
            return 0;
        }
    }

    /**
     * {bytes per second, bytes moved} of {@code op}, each run moving {@code bytes}, over {@code window} s after a short
     * warm-up.
     */
    private static double[] rate(final Runnable op, final long bytes, final double window)
    {
        final long warmUntil = System.nanoTime() + 100_000_000L;
        while (System.nanoTime() < warmUntil)
        {
            op.run();
        }
        final long start = System.nanoTime();
        final long until = start + (long) (window * 1e9);
        long runs = 0;
        long now;
        do
        {
            op.run();
            runs++;
            now = System.nanoTime();
        }
        while (now < until);
        return new double[] {runs * (double) bytes / ((now - start) / 1e9), runs * (double) bytes};
    }

    private static String gbs(final double bytesPerSecond)
    {
        return Double.isNaN(bytesPerSecond) ? "-" : String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9);
    }
}
