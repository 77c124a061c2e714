package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.peer.KeyCodec;
import io.ds4j.common.protocol.peer.KeyVersionCodec;
import io.ds4j.common.protocol.peer.PeerHelloCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.system.RawChannel.Closed;
import io.ds4j.system.RawChannel.Frame;
import io.ds4j.system.RawChannel.Outcome;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Faults on the worker-to-worker link of a real three-worker cluster: the primary of a value killed (kill -9) while
 * another worker pulls the value from it, and malformed or hostile input on a peer link opened by hand. Worker 0
 * (A) holds the values, worker 1 (B) reads them, worker 2 (C) owns their metadata.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterPeerFaultTest
{
    private static final int A = 0;
    private static final int B = 1;
    private static final int C = 2;
    /** Large enough that its transfer takes a while, so the kill can land in the middle of it. */
    private static final long BIG = 256L * MIB;
    private static final int BIG_POOL_MB = 384;
    private static final long READ_TIMEOUT_MS = 5000;

    private static MiniCluster cluster;

    @BeforeAll
    static void startCluster()
    {
        cluster = MiniCluster.builder().workers(3).metrics()
            .workerFlag(A, "shared_memory_size_mb", Integer.toString(BIG_POOL_MB))
            .workerFlag(B, "shared_memory_size_mb", Integer.toString(BIG_POOL_MB)).start();
    }

    @AfterAll
    static void stopCluster()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    /** After every case every worker serves its clients, and a value still crosses from A to B. */
    @AfterEach
    void theClusterStillServes()
    {
        for (int i = 0; i < 3; i++)
        {
            SystemTests.assertWorkerServes(cluster.worker(i));
        }
        final String key = cluster.keyOwnedBy(C, "still");
        final byte[] value = randomBytes(key.hashCode(), 700 * 1024);
        try (DsClient a = cluster.connect(A); DsClient b = cluster.connect(B, Transport.TCP_INLINE))
        {
            a.kv().set(key, value);
            assertArrayEquals(value, b.kv().get(key), "a cross-node get");
            b.kv().delete(key);
        }
    }

    // ------------------------------------------------------------------ a primary killed mid-transfer

    private static long word(final long index)
    {
        return index * 0x9E3779B97F4A7C15L + 7;
    }

    private static void fill(final MemorySegment target)
    {
        for (long i = 0; i < target.byteSize() / 8; i++)
        {
            target.set(ValueLayout.JAVA_LONG_UNALIGNED, i * 8, word(i));
        }
    }

    private static boolean intact(final MemorySegment value)
    {
        if (value.byteSize() != BIG)
        {
            return false;
        }
        for (long i = 0; i < value.byteSize() / 8; i++)
        {
            if (value.get(ValueLayout.JAVA_LONG_UNALIGNED, i * 8) != word(i))
            {
                return false;
            }
        }
        return true;
    }

    /** B's pool usage once it stopped changing (releases of views land a moment after the response). */
    private static long settledUsage(final int worker)
    {
        long last = cluster.poolUsedBytes(worker);
        for (int i = 0; i < 100; i++)
        {
            SystemTests.sleep(50);
            final long now = cluster.poolUsedBytes(worker);
            if (now == last)
            {
                return now;
            }
            last = now;
        }
        return fail("the pool usage of worker " + worker + " never settled: " + last);
    }

    /** What the reader on B got (a view or an error), and how long the get took. */
    private record Read(ReadOnlyBuffer view, DsException error, long tookMs)
    {
    }

    @Test
    void aPrimaryKilledMidTransferFailsTheReadClearlyAndLeaksNothingOnTheReader() throws Exception
    {
        final List<String> attempts = new ArrayList<>();
        boolean killedMidTransfer = false;
        try
        {
            killedMidTransfer = killDuringTransfers(attempts);
        }
        finally
        {
            if (!cluster.worker(A).isAlive())
            {
                cluster.restart(A);
            }
        }
        assertTrue(killedMidTransfer, "the kill never landed during a transfer: " + attempts);
    }

    /** Up to 6 attempts to kill A while B receives a value from it; true once one landed mid-transfer. */
    private static boolean killDuringTransfers(final List<String> attempts) throws Exception
    {
        boolean killedMidTransfer = false;
        for (int attempt = 0; attempt < 6 && !killedMidTransfer; attempt++)
        {
            if (!cluster.worker(A).isAlive())
            {
                cluster.restart(A);
            }
            final String key = cluster.keyOwnedBy(C, "killed");
            try (DsClient writer = cluster.connect(A))
            {
                final List<WritableBuffer> buffers = writer.kv().mcreate(List.of(key), new long[] {BIG},
                    SetParam.DEFAULT);
                fill(buffers.getFirst().data());
                assertEquals(List.of(), writer.kv().msetBuffer(buffers));
                buffers.getFirst().close();
            }
            final long before = settledUsage(B);
            // the client would wait 30 s; the error must come long before that
            final DsClient reader = DsClient.connect(cluster.options(B).requestTimeoutMs(30_000).build());
            try
            {
                final CompletableFuture<Read> read = CompletableFuture.supplyAsync(() ->
                {
                    final long start = System.nanoTime();
                    try
                    {
                        final ReadOnlyBuffer view = reader.kv().getBuffers(List.of(key), 0).getFirst();
                        return new Read(view, null, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                    }
                    catch (final DsException e)
                    {
                        return new Read(null, e, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                    }
                });
                // the region for the value is allocated on B when A's reply arrives, before its bytes: kill A then
                boolean receiving = false;
                while (!read.isDone() && !(receiving = cluster.poolUsedBytes(B) >= before + BIG))
                {
                    Thread.onSpinWait();
                }
                if (receiving && !read.isDone())
                {
                    cluster.kill9(A);
                }
                // the client waits up to 30 s; a clear answer comes long before
                final Read outcome;
                try
                {
                    outcome = read.get(READ_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                }
                catch (final java.util.concurrent.TimeoutException e)
                {
                    return fail("the get on B did not end within " + READ_TIMEOUT_MS + " ms of A's kill ("
                        + (receiving ? "during the transfer" : "") + "); it ended with " + read.get(40, TimeUnit.SECONDS)
                        + "; attempts before: " + attempts);
                }
                if (outcome.error() == null)
                {
                    try (ReadOnlyBuffer view = outcome.view())
                    {
                        final boolean intact = intact(view.data());
                        attempts.add((intact ? "the value arrived first" : "TORN") + " after " + outcome.tookMs()
                            + " ms");
                        assertTrue(intact, "the reader got a wrong value: " + attempts);
                    }
                    reader.kv().delete(key);
                    continue;
                }
                attempts.add(outcome.error().code() + " after " + outcome.tookMs() + " ms");
                killedMidTransfer = receiving;
                assertTrue(outcome.error().code() == StatusCode.RPC_UNAVAILABLE
                    || outcome.error().code() == StatusCode.NOT_FOUND, "not a clear error: " + outcome.error());
                assertTrue(outcome.tookMs() < READ_TIMEOUT_MS, attempts.toString());
                // nothing half-received stays in B's pool, and B still fills its whole pool
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (cluster.poolUsedBytes(B) > before)
                {
                    if (System.nanoTime() - deadline > 0)
                    {
                        fail("B's pool holds " + (cluster.poolUsedBytes(B) - before) + " bytes more than before the"
                            + " broken transfer: " + attempts);
                    }
                    SystemTests.sleep(20);
                }
                final String filler = cluster.keyOwnedBy(B, "filler");
                final byte[] big = new byte[(BIG_POOL_MB - 40) * MIB];
                reader.kv().set(filler, big);
                reader.kv().delete(filler);
                // and B serves keys A does not own (A's own keys wait for it to come back)
                final String after = cluster.keyOwnedBy(C, "after");
                reader.kv().set(after, "after".getBytes());
                assertArrayEquals("after".getBytes(), reader.kv().get(after));
                reader.kv().delete(after);
            }
            finally
            {
                reader.close();
            }
        }
        return killedMidTransfer;
    }

    // ------------------------------------------------------------------ bad input on a peer link

    /** A peer link opened by hand to B: PEER_HELLO answered, then whatever the case sends. */
    private static RawChannel peerLink()
    {
        final RawChannel raw = RawChannel.tcp(cluster.worker(B).host(), cluster.worker(B).port());
        raw.send(PeerMessageType.PEER_HELLO, w -> PeerHelloCodec.writeRequest(w, "127.0.0.1:1"));
        final Frame hello = assertInstanceOf(Frame.class, raw.read(READ_TIMEOUT_MS), "PEER_HELLO is answered");
        assertEquals(0, hello.status(), hello.errorMessage());
        assertEquals(cluster.worker(B).address(), hello.errorMessage(), "the reply names the worker");
        return raw;
    }

    private static ByteBuffer header(final int length, final int type, final int flags)
    {
        final ByteBuffer frame = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        frame.putInt(length).putShort((short) type).putShort((short) flags).putLong(42).flip();
        return frame;
    }

    /** What a case sends on an open peer link; each one must make B close that link. */
    enum BadPeerInput
    {
        GARBAGE(raw -> raw.write(randomBytes(99, 64))),
        A_CLIENT_HELLO(raw -> raw.send(MessageType.HELLO, w -> w.putInt(MessageType.PROTOCOL_VERSION)
            .putLong(ProcessHandle.current().pid()).putLong(0).putLong(0).putBoolean(false))),
        A_SECOND_PEER_HELLO(raw -> raw.send(PeerMessageType.PEER_HELLO,
            w -> PeerHelloCodec.writeRequest(w, "127.0.0.1:2"))),
        AN_UNKNOWN_PEER_TYPE(raw -> raw.send((short) 115, w -> w.putString("k"))),
        A_CLIENT_REQUEST(raw -> raw.send(MessageType.KV_DELETE, w -> w.putInt(1).putString("k"))),
        A_RESPONSE_INSTEAD_OF_A_REQUEST(raw -> raw.write(RawChannel.frame(PeerMessageType.OWNER_EXISTS,
            io.ds4j.common.protocol.FrameHeader.FLAG_RESPONSE, 7, w -> w.putInt(0).putBoolean(true)))),
        A_FRAME_LENGTH_BEYOND_THE_LIMIT(raw -> raw.write(header(Integer.MAX_VALUE, PeerMessageType.OWNER_EXISTS,
            0))),
        A_BODY_SHORTER_THAN_ITS_FIELDS(raw -> raw.send(PeerMessageType.HOLDER_RETIRE, w -> w.putString("k"))),
        AN_UNKNOWN_RETIREMENT_REASON(raw -> raw.send(PeerMessageType.HOLDER_RETIRE,
            w -> KeyVersionCodec.writeValue(w, "k", 1, 99))),
        A_QUERY_OF_A_BILLION_KEYS(raw -> raw.send(PeerMessageType.OWNER_QUERY,
            w -> w.putLong(0).putInt(1_000_000_000))),
        A_TRUNCATED_FRAME(raw ->
        {
            final ByteBuffer frame = header(1000, PeerMessageType.OWNER_EXISTS, 0);
            raw.write(frame);
            raw.write(new byte[10]);
            raw.shutdownOutput();
        });

        private final Consumer<RawChannel> send;

        BadPeerInput(final Consumer<RawChannel> send)
        {
            this.send = send;
        }
    }

    @Test
    void aWellFormedPeerRequestOnALinkOpenedByHandIsAnswered()
    {
        // the control for the cases below: the link itself works
        final String key = cluster.keyOwnedBy(B, "raw-exists");
        try (DsClient client = cluster.connect(A); RawChannel raw = peerLink())
        {
            client.kv().set(key, "v".getBytes());
            raw.send(PeerMessageType.OWNER_EXISTS, w -> KeyCodec.writeKey(w, key));
            final Frame reply = assertInstanceOf(Frame.class, raw.read(READ_TIMEOUT_MS));
            assertTrue(reply.isResponse());
            assertEquals(0, reply.status());
            assertEquals(1, reply.body().get(4), "B owns the key and knows it exists");
            client.kv().delete(key);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(BadPeerInput.class)
    void badInputOnAPeerLinkClosesThatLinkOnly(final BadPeerInput input)
    {
        try (RawChannel raw = peerLink(); DsClient bystander = cluster.connect(B))
        {
            input.send.accept(raw);
            final Outcome outcome = raw.readUntilClosed(READ_TIMEOUT_MS);
            assertInstanceOf(Closed.class, outcome, input + " left the link open");
            SystemTests.assertServes(bystander);
        }
    }

    @Test
    void aPeerHelloOfAnotherProtocolVersionIsRefused()
    {
        try (RawChannel raw = RawChannel.tcp(cluster.worker(B).host(), cluster.worker(B).port()))
        {
            raw.send(PeerMessageType.PEER_HELLO, w -> w.putInt(PeerMessageType.PEER_PROTOCOL_VERSION + 1)
                .putString("127.0.0.1:1"));
            final Outcome outcome = raw.readUntilClosed(READ_TIMEOUT_MS);
            assertInstanceOf(Closed.class, outcome, "a peer of another version is not served");
        }
    }

    @Test
    void aPeerHelloOnTheUnixSocketIsNotAPeerLink()
    {
        final java.nio.file.Path socket;
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(cluster.worker(B).udsDir()))
        {
            socket = files.filter(p -> p.toString().endsWith(".sock")).findFirst().orElseThrow();
        }
        catch (final java.io.IOException e)
        {
            throw new java.io.UncheckedIOException(e);
        }
        try (RawChannel raw = RawChannel.unix(socket))
        {
            raw.send(PeerMessageType.PEER_HELLO, w -> PeerHelloCodec.writeRequest(w, "127.0.0.1:1"));
            final Outcome outcome = raw.read(READ_TIMEOUT_MS);
            if (outcome instanceof Frame frame)
            {
                assertTrue(frame.status() != 0, "a PEER_HELLO on the Unix socket was accepted");
            }
            else
            {
                assertInstanceOf(Closed.class, outcome, "no answer to a PEER_HELLO on the Unix socket");
            }
        }
    }
}
