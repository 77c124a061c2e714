package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.DsClient;
import io.ds4j.client.ObjectClient;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An object-interface client run in its own JVM by {@link ObjectLatchMultiProcessTest}. Prints result lines and
 * exits 0, or prints {@code FAIL reason} and exits 2. Commands (after {@code host port}):
 * <ul>
 *   <li>{@code count KEY N}: prints {@code READY}, waits for {@code GO} on stdin, then N times takes the write latch
 *   of KEY, adds 1 to the long at offset 0 and unlatches; prints {@code COUNTED N}</li>
 *   <li>{@code fill KEY MILLIS}: {@code READY}, {@code GO}, then for MILLIS fills all of KEY with one byte value
 *   (the next one each round) under the write latch; prints {@code FILLED rounds}</li>
 *   <li>{@code check KEY MILLIS}: {@code READY}, {@code GO}, then for MILLIS copies KEY under a read latch and
 *   checks that all its bytes are equal; prints {@code CHECKED rounds torn distinct} (distinct: how many
 *   different values it saw)</li>
 *   <li>{@code hold-w KEY} / {@code hold-r KEY}: takes the write / a read latch of KEY, prints {@code HOLDING pid}
 *   and sleeps until killed</li>
 *   <li>{@code ref KEY}: takes a global reference on KEY, prints {@code REFERENCED}; on the stdin line {@code DEC}
 *   drops it, prints {@code DECREASED} and exits (closing the client); otherwise waits until killed</li>
 * </ul>
 */
public final class ObjectProgram
{
    private static final long LATCH_TIMEOUT_MS = 20_000;

    private ObjectProgram()
    {
    }

    public static void main(final String[] args)
    {
        try
        {
            run(args);
            System.exit(0);
        }
        catch (final Throwable e)
        {
            System.out.println("FAIL " + e);
            e.printStackTrace(System.out);
            System.out.flush();
            System.exit(2);
        }
    }

    private static void run(final String[] args) throws Exception
    {
        final String host = args[0];
        final int port = Integer.parseInt(args[1]);
        final String command = args[2];
        final String key = args[3];
        final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (DsClient client = DsClient.connect(host, port))
        {
            if (!client.usesSharedMemory())
            {
                throw new AssertionError("a client on the worker's host should use shared memory");
            }
            final ObjectClient objects = client.object();
            switch (command)
            {
                case "count" -> count(objects, key, Integer.parseInt(args[4]), stdin);
                case "fill" -> fill(objects, key, Long.parseLong(args[4]), stdin);
                case "check" -> check(objects, key, Long.parseLong(args[4]), stdin);
                case "hold-w", "hold-r" -> hold(objects, key, command.equals("hold-w"));
                case "ref" -> ref(objects, key, stdin);
                default -> throw new IllegalArgumentException("unknown command " + command);
            }
        }
    }

    private static Buffer object(final ObjectClient objects, final String key)
    {
        final Buffer buffer = objects.get(List.of(key), 0).getFirst();
        if (!buffer.isShared())
        {
            throw new AssertionError("buffer of " + key + " is not in shared memory");
        }
        return buffer;
    }

    private static void awaitGo(final BufferedReader stdin) throws Exception
    {
        System.out.println("READY");
        System.out.flush();
        final String line = stdin.readLine();
        if (!"GO".equals(line))
        {
            throw new AssertionError("expected GO, got " + line);
        }
    }

    private static void count(final ObjectClient objects, final String key, final int times,
        final BufferedReader stdin) throws Exception
    {
        try (Buffer buffer = object(objects, key))
        {
            final MemorySegment data = buffer.mutableData();
            awaitGo(stdin);
            for (int i = 0; i < times; i++)
            {
                buffer.wLatch(LATCH_TIMEOUT_MS);
                try
                {
                    // a plain read-modify-write: only the latch keeps the other processes' increments apart
                    final long value = data.get(ValueLayout.JAVA_LONG, 0);
                    Thread.onSpinWait();
                    data.set(ValueLayout.JAVA_LONG, 0, value + 1);
                }
                finally
                {
                    buffer.unWLatch();
                }
            }
        }
        System.out.println("COUNTED " + times);
    }

    private static void fill(final ObjectClient objects, final String key, final long millis,
        final BufferedReader stdin) throws Exception
    {
        long rounds = 0;
        try (Buffer buffer = object(objects, key))
        {
            final MemorySegment data = buffer.mutableData();
            awaitGo(stdin);
            final long end = System.nanoTime() + millis * 1_000_000L;
            while (System.nanoTime() < end)
            {
                buffer.wLatch(LATCH_TIMEOUT_MS);
                try
                {
                    // byte by byte, so a reader without the latch would surely see a mix
                    final byte value = (byte) (rounds + 1);
                    for (long i = 0; i < data.byteSize(); i += 4096)
                    {
                        data.asSlice(i, Math.min(4096, data.byteSize() - i)).fill(value);
                    }
                }
                finally
                {
                    buffer.unWLatch();
                }
                rounds++;
            }
        }
        System.out.println("FILLED " + rounds);
    }

    private static void check(final ObjectClient objects, final String key, final long millis,
        final BufferedReader stdin) throws Exception
    {
        long rounds = 0;
        long torn = 0;
        final boolean[] seen = new boolean[256];
        try (Buffer buffer = object(objects, key))
        {
            final MemorySegment data = buffer.immutableData();
            final byte[] copy = new byte[(int) data.byteSize()];
            awaitGo(stdin);
            final long end = System.nanoTime() + millis * 1_000_000L;
            while (System.nanoTime() < end)
            {
                buffer.rLatch(LATCH_TIMEOUT_MS);
                try
                {
                    MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, copy, 0, copy.length);
                }
                finally
                {
                    buffer.unRLatch();
                }
                final byte first = copy[0];
                for (final byte b : copy)
                {
                    if (b != first)
                    {
                        torn++;
                        break;
                    }
                }
                seen[first & 0xFF] = true;
                rounds++;
            }
        }
        int distinct = 0;
        for (final boolean s : seen)
        {
            distinct += s ? 1 : 0;
        }
        System.out.println("CHECKED " + rounds + " " + torn + " " + distinct);
    }

    private static void hold(final ObjectClient objects, final String key, final boolean write) throws Exception
    {
        final Buffer buffer = object(objects, key);
        if (write)
        {
            buffer.wLatch(LATCH_TIMEOUT_MS);
        }
        else
        {
            buffer.rLatch(LATCH_TIMEOUT_MS);
        }
        System.out.println("HOLDING " + ProcessHandle.current().pid());
        System.out.flush();
        Thread.sleep(120_000);
        throw new AssertionError("was not killed");
    }

    private static void ref(final ObjectClient objects, final String key, final BufferedReader stdin)
        throws Exception
    {
        if (!objects.gIncreaseRef(List.of(key)).isEmpty())
        {
            throw new AssertionError("gIncreaseRef of " + key + " failed");
        }
        System.out.println("REFERENCED");
        System.out.flush();
        final String line = stdin.readLine();
        if ("DEC".equals(line))
        {
            if (!objects.gDecreaseRef(List.of(key)).isEmpty())
            {
                throw new AssertionError("gDecreaseRef of " + key + " failed");
            }
            System.out.println("DECREASED");
            return;
        }
        Thread.sleep(120_000);
        throw new AssertionError("was not killed");
    }
}
