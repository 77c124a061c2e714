package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A client run in its own JVM by the multi-process tests. Prints one result line and exits 0, or prints
 * {@code FAIL reason} and exits 2. Commands (after {@code host port}):
 * <ul>
 *   <li>{@code set PREFIX COUNT SEED}: sets COUNT keys of seeded random content; prints {@code SET COUNT}</li>
 *   <li>{@code get PREFIX COUNT SEED}: reads them with get, batch get and getBuffers, checks every byte; prints
 *   {@code VERIFIED COUNT}</li>
 *   <li>{@code wait-get PREFIX COUNT SEED TIMEOUT_MS}: prints {@code WAITING}, then a batch get with that subscribe
 *   timeout, checks every byte; prints {@code VERIFIED COUNT}</li>
 *   <li>{@code hold KEY CREATE_BYTES SECONDS}: takes a zero-copy view of KEY and an unpublished mcreate buffer of
 *   CREATE_BYTES, prints {@code HOLDING}, then sleeps (reading the view now and then) until killed or SECONDS
 *   pass</li>
 *   <li>{@code hold-check KEY SIZE SEED}: takes a zero-copy view of KEY (which must hold SIZE bytes of SEED's
 *   content), prints {@code HOLDING}, then per stdin line {@code CHECK [DELAY_MS]} reads the view (after the delay)
 *   and prints {@code RESULT SAME}, {@code RESULT CHANGED at N} or {@code RESULT ERROR CODE}; ends at
 *   {@code EXIT}</li>
 *   <li>{@code hold-write KEY SIZE}: mcreates an unpublished buffer of SIZE bytes for KEY, prints {@code HOLDING},
 *   then per stdin line {@code WRITE [DELAY_MS]} fills it with 0x55 (after the delay) and prints
 *   {@code RESULT WROTE}, {@code RESULT ERROR CODE} or {@code RESULT CLOSED}; ends at {@code EXIT}</li>
 * </ul>
 */
public final class ClientProgram
{
    private ClientProgram()
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
        try (DsClient client = DsClient.connect(host, port))
        {
            if (!client.usesSharedMemory())
            {
                throw new AssertionError("a client on the worker's host should use shared memory");
            }
            final KvClient kv = client.kv();
            switch (command)
            {
                case "set" -> set(kv, args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]));
                case "get" -> get(kv, args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]));
                case "wait-get" -> waitGet(kv, args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]),
                    Long.parseLong(args[6]));
                case "hold" -> hold(kv, args[3], Long.parseLong(args[4]), Long.parseLong(args[5]));
                case "hold-check" -> holdCheck(kv, args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]));
                case "hold-write" -> holdWrite(kv, args[3], Long.parseLong(args[4]));
                default -> throw new IllegalArgumentException("unknown command " + command);
            }
        }
    }

    private static void set(final KvClient kv, final String prefix, final int count, final long seed)
    {
        for (int i = 0; i < count; i++)
        {
            kv.set(SystemTests.sharedKey(prefix, i), expected(seed, i));
        }
        System.out.println("SET " + count);
    }

    private static byte[] expected(final long seed, final int i)
    {
        return SystemTests.randomBytes(SystemTests.sharedSeed(seed, i), SystemTests.sharedSize(i));
    }

    private static List<String> keys(final String prefix, final int count)
    {
        final List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            keys.add(SystemTests.sharedKey(prefix, i));
        }
        return keys;
    }

    private static void get(final KvClient kv, final String prefix, final int count, final long seed)
    {
        for (int i = 0; i < count; i++)
        {
            check("get", i, expected(seed, i), kv.get(SystemTests.sharedKey(prefix, i)));
        }
        final List<byte[]> batch = kv.get(keys(prefix, count), 0);
        for (int i = 0; i < count; i++)
        {
            check("batch get", i, expected(seed, i), batch.get(i));
        }
        final List<ReadOnlyBuffer> views = kv.getBuffers(keys(prefix, count), 0);
        try
        {
            for (int i = 0; i < count; i++)
            {
                final ReadOnlyBuffer view = views.get(i);
                if (view == null || !view.isZeroCopy())
                {
                    throw new AssertionError("getBuffers of key " + i + " is not a zero-copy view: " + view);
                }
                check("getBuffers", i, expected(seed, i), view.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        finally
        {
            views.forEach(ReadOnlyBuffer::close);
        }
        System.out.println("VERIFIED " + count);
    }

    private static void waitGet(final KvClient kv, final String prefix, final int count, final long seed,
        final long timeoutMs)
    {
        System.out.println("WAITING");
        System.out.flush();
        final List<String> keys = keys(prefix, count);
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        final byte[][] values = new byte[count][];
        int missing = count;
        // each batch get returns once some keys are there; ask again for the ones still missing
        while (missing > 0 && System.nanoTime() < deadline)
        {
            final List<String> wanted = new ArrayList<>();
            for (int i = 0; i < count; i++)
            {
                if (values[i] == null)
                {
                    wanted.add(keys.get(i));
                }
            }
            final long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000L);
            final List<byte[]> got;
            try
            {
                got = kv.get(wanted, left);
            }
            catch (final io.ds4j.common.DsException e)
            {
                if (e.code() == io.ds4j.common.StatusCode.NOT_FOUND)
                {
                    continue;
                }
                throw e;
            }
            for (int j = 0; j < wanted.size(); j++)
            {
                if (got.get(j) != null)
                {
                    values[keys.indexOf(wanted.get(j))] = got.get(j);
                    missing--;
                }
            }
        }
        for (int i = 0; i < count; i++)
        {
            if (values[i] == null)
            {
                throw new AssertionError("key " + i + " never arrived within " + timeoutMs + " ms");
            }
            check("subscribed get", i, expected(seed, i), values[i]);
        }
        System.out.println("VERIFIED " + count);
    }

    private static void hold(final KvClient kv, final String key, final long createBytes, final long seconds)
        throws InterruptedException
    {
        final ReadOnlyBuffer view = kv.getBuffers(List.of(key), 0).getFirst();
        if (!view.isZeroCopy())
        {
            throw new AssertionError("view of " + key + " is not zero copy");
        }
        final List<WritableBuffer> pending = kv.mcreate(List.of(key + "-pending"), new long[] {createBytes},
            SetParam.DEFAULT);
        final MemorySegment data = pending.getFirst().data();
        data.fill((byte) 7);
        System.out.println("HOLDING " + view.size() + " " + ProcessHandle.current().pid());
        System.out.flush();
        final long end = System.nanoTime() + seconds * 1_000_000_000L;
        long sum = 0;
        while (System.nanoTime() < end)
        {
            sum += view.data().get(ValueLayout.JAVA_BYTE, sum & 0xffff);
            Thread.sleep(200);
        }
        System.out.println("DONE " + sum);
    }

    private static void holdCheck(final KvClient kv, final String key, final int size, final long seed)
        throws Exception
    {
        final byte[] expected = SystemTests.randomBytes(seed, size);
        final ReadOnlyBuffer view = kv.getBuffers(List.of(key), 0).getFirst();
        if (!view.isZeroCopy())
        {
            throw new AssertionError("view of " + key + " is not zero copy");
        }
        check("view", 0, expected, view.toByteArray());
        System.out.println("HOLDING " + ProcessHandle.current().pid());
        System.out.flush();
        final java.io.BufferedReader stdin = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        String line;
        while ((line = stdin.readLine()) != null && !line.equals("EXIT"))
        {
            final String[] words = line.trim().split(" ");
            if (!words[0].equals("CHECK"))
            {
                continue;
            }
            if (words.length > 1)
            {
                Thread.sleep(Long.parseLong(words[1]));
            }
            String result;
            try
            {
                // the first page alone first: a short read is what a racing reconnect cannot interrupt
                final MemorySegment data = view.data();
                final byte[] head = data.asSlice(0, 4096).toArray(ValueLayout.JAVA_BYTE);
                int mismatch = Arrays.mismatch(Arrays.copyOf(expected, 4096), head);
                if (mismatch < 0)
                {
                    mismatch = Arrays.mismatch(expected, data.toArray(ValueLayout.JAVA_BYTE));
                }
                result = mismatch < 0 ? "SAME" : "CHANGED at " + mismatch;
            }
            catch (final io.ds4j.common.DsException e)
            {
                result = "ERROR " + e.code() + " " + e.getMessage();
            }
            catch (final IllegalStateException e)
            {
                // the SDK closed the mapping while the bytes were being read
                result = "CLOSED " + e.getMessage();
            }
            System.out.println("RESULT " + result);
            System.out.flush();
        }
        view.close();
    }

    private static void holdWrite(final KvClient kv, final String key, final long size) throws Exception
    {
        final WritableBuffer buffer = kv.mcreate(List.of(key), new long[] {size}, SetParam.DEFAULT).getFirst();
        System.out.println("HOLDING " + ProcessHandle.current().pid());
        System.out.flush();
        final java.io.BufferedReader stdin = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        String line;
        while ((line = stdin.readLine()) != null && !line.equals("EXIT"))
        {
            final String[] words = line.trim().split(" ");
            if (!words[0].equals("WRITE"))
            {
                continue;
            }
            if (words.length > 1)
            {
                Thread.sleep(Long.parseLong(words[1]));
            }
            String result;
            try
            {
                buffer.data().fill((byte) 0x55);
                result = "WROTE";
            }
            catch (final io.ds4j.common.DsException e)
            {
                result = "ERROR " + e.code() + " " + e.getMessage();
            }
            catch (final IllegalStateException e)
            {
                result = "CLOSED " + e.getMessage();
            }
            System.out.println("RESULT " + result);
            System.out.flush();
        }
        buffer.close();
    }

    private static void check(final String how, final int i, final byte[] expected, final byte[] actual)
    {
        if (!Arrays.equals(expected, actual))
        {
            throw new AssertionError(how + " of key " + i + ": expected " + expected.length + " bytes, got "
                + (actual == null ? "null" : actual.length + " bytes, first mismatch at "
                + Arrays.mismatch(expected, actual)));
        }
    }
}
