package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.system.RawChannel.Closed;
import io.ds4j.system.RawChannel.Frame;
import io.ds4j.system.RawChannel.Outcome;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Malformed and hostile input on the worker's TCP port and on its Unix socket (docs/protocol.md §11): a protocol
 * error closes that one connection, a well-formed but unacceptable request is answered with its status, and either
 * way the worker process stays alive and a normal client still works.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputTest
{
    /** The two sockets a worker listens on. */
    enum Socket
    {
        TCP, UNIX
    }

    /** Runs a test once per socket. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Socket.class)
    @interface BothSockets
    {
    }

    private static final long READ_TIMEOUT_MS = 5000;

    private static WorkerProcess worker;

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "64");
    }

    @AfterAll
    static void stopWorker()
    {
        if (worker != null)
        {
            try
            {
                final List<String> log = worker.logTail(2000);
                assertTrue(log.stream().noneMatch(line -> line.contains("unexpected error")),
                    "bad input made the worker log an unexpected error:\n" + String.join("\n", log));
                assertTrue(log.stream().anyMatch(line -> line.contains("malformed frame")),
                    "protocol errors should be logged as malformed frames:\n" + String.join("\n", log));
            }
            finally
            {
                worker.close();
            }
        }
    }

    /** After every case the worker is alive and serves a normal client on both transports. */
    @AfterEach
    void workerStillServes()
    {
        SystemTests.assertWorkerServes(worker);
        try (var client = SystemTests.connect(worker, Transport.TCP_INLINE))
        {
            SystemTests.assertServes(client);
        }
    }

    private static Path unixSocket;

    /** The worker's Unix socket, as its HELLO reply over TCP names it (docs/protocol.md §5.1). */
    private static Path unixSocket()
    {
        if (unixSocket == null)
        {
            try (RawChannel channel = RawChannel.tcp(worker.host(), worker.port()))
            {
                final Frame reply = assertInstanceOf(Frame.class, channel.hello());
                assertEquals(0, reply.status(), reply.errorMessage());
                final ByteBuffer body = reply.body().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                body.position(4 + 8 + 8 + 8); // status, client id, generation, worker pid
                body.position(body.position() + 4 + body.getInt(body.position())); // worker address
                final byte[] path = new byte[body.getInt()];
                body.get(path);
                unixSocket = Path.of(new String(path, java.nio.charset.StandardCharsets.UTF_8));
            }
            assertTrue(unixSocket.startsWith(worker.udsDir()), unixSocket + " is not in " + worker.udsDir());
        }
        return unixSocket;
    }

    private static RawChannel open(final Socket socket)
    {
        return socket == Socket.TCP ? RawChannel.tcp(worker.host(), worker.port()) : RawChannel.unix(unixSocket());
    }

    private static RawChannel openWithHello(final Socket socket)
    {
        final RawChannel channel = open(socket);
        final Outcome reply = channel.hello();
        final Frame frame = assertInstanceOf(Frame.class, reply, "HELLO reply");
        assertTrue(frame.isResponse());
        assertEquals(0, frame.status(), "HELLO status: " + frame.errorMessage());
        return channel;
    }

    private static ByteBuffer header(final int length, final short type, final short flags, final long correlation)
    {
        return ByteBuffer.allocate(FrameHeader.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN).putInt(length)
            .putShort(type).putShort(flags).putLong(correlation).flip();
    }

    private static void assertClosed(final RawChannel channel, final String what)
    {
        final Outcome outcome = channel.readUntilClosed(READ_TIMEOUT_MS);
        assertInstanceOf(Closed.class, outcome, what + ": the worker should close the connection, got " + outcome);
    }

    private static Frame assertAnswered(final RawChannel channel, final long correlation, final StatusCode status,
        final String what)
    {
        final Outcome outcome = channel.read(READ_TIMEOUT_MS);
        final Frame frame = assertInstanceOf(Frame.class, outcome, what + ": expected a response, got " + outcome);
        assertTrue(frame.isResponse(), what + ": response flag");
        assertEquals(correlation, frame.correlationId(), what + ": correlation id");
        assertEquals(status.value(), frame.status(), what + ": status (message: " + frame.errorMessage() + ")");
        return frame;
    }

    /** The connection still works: a HEARTBEAT is answered OK. */
    private static void assertStillOpen(final RawChannel channel, final String what)
    {
        final long id = channel.send(MessageType.HEARTBEAT, w -> { });
        assertAnswered(channel, id, StatusCode.OK, what + ", then HEARTBEAT");
    }

    // ------------------------------------------------------------------ before HELLO

    @BothSockets
    void randomGarbageClosesTheConnection(final Socket socket)
    {
        for (final long seed : new long[] {1, 2, 3})
        {
            try (RawChannel channel = open(socket))
            {
                channel.write(randomBytes(seed, 64 * 1024));
                assertClosed(channel, "64 KiB of garbage (seed " + seed + ")");
            }
        }
    }

    @BothSockets
    void garbageThatLooksLikeAHeaderClosesTheConnection(final Socket socket)
    {
        // a plausible length and the HELLO type, then garbage: the body does not parse
        final byte[] garbage = randomBytes(4, 1000);
        final ByteBuffer frame = ByteBuffer.allocate(1000).order(ByteOrder.LITTLE_ENDIAN);
        frame.put(garbage).putInt(0, 20).putShort(4, MessageType.HELLO).putShort(6, (short) 0).flip();
        try (RawChannel channel = open(socket))
        {
            channel.write(frame);
            assertClosed(channel, "HELLO with a 4-byte body");
        }
    }

    @BothSockets
    void hugeFrameLengthClosesTheConnection(final Socket socket)
    {
        try (RawChannel channel = open(socket))
        {
            channel.write(header(0x7fffffff, MessageType.HELLO, (short) 0, 1));
            assertClosed(channel, "frame length 0x7fffffff before HELLO");
        }
        try (RawChannel channel = open(socket))
        {
            channel.write(header(64 * 1024 + 1, MessageType.HELLO, (short) 0, 1));
            assertClosed(channel, "frame length above the 64 KiB pre-HELLO limit");
        }
        try (RawChannel channel = openWithHello(socket))
        {
            channel.write(header(0x7fffffff, MessageType.KV_GET, (short) 0, 2));
            assertClosed(channel, "frame length 0x7fffffff after HELLO");
        }
    }

    @BothSockets
    void frameLengthShorterThanTheHeaderClosesTheConnection(final Socket socket)
    {
        for (final int length : new int[] {0, 8, 15, -1, Integer.MIN_VALUE})
        {
            try (RawChannel channel = open(socket))
            {
                channel.write(header(length, MessageType.HELLO, (short) 0, 1));
                assertClosed(channel, "frame length " + length);
            }
        }
    }

    @BothSockets
    void fewerBytesThanAHeaderThenEndOfStream(final Socket socket)
    {
        try (RawChannel channel = open(socket))
        {
            channel.write(new byte[] {40, 0, 0, 0, 1, 0, 0, 0, 1, 0});
            channel.shutdownOutput();
            assertClosed(channel, "10 bytes then end of stream");
        }
    }

    @BothSockets
    void aFirstFrameOtherThanHelloClosesTheConnection(final Socket socket)
    {
        try (RawChannel channel = open(socket))
        {
            channel.send(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1).putString("key"));
            assertClosed(channel, "KV_GET before HELLO");
        }
        try (RawChannel channel = open(socket))
        {
            channel.send(MessageType.HEARTBEAT, w -> { });
            assertClosed(channel, "HEARTBEAT before HELLO");
        }
        try (RawChannel channel = open(socket))
        {
            channel.write(RawChannel.frame(MessageType.HELLO, FrameHeader.FLAG_RESPONSE, 1,
                w -> w.putInt(0).putInt(MessageType.PROTOCOL_VERSION)));
            assertClosed(channel, "a response frame from a client");
        }
    }

    @BothSockets
    void aTruncatedFrameThenCloseLeavesNothingBehind(final Socket socket)
    {
        final ByteBuffer hello = RawChannel.frame(MessageType.HELLO, (short) 0, 1,
            w -> w.putInt(MessageType.PROTOCOL_VERSION).putLong(1).putLong(0).putBoolean(false));
        try (RawChannel channel = open(socket))
        {
            channel.write(hello.limit(hello.limit() - 5));
        }
        try (RawChannel channel = openWithHello(socket))
        {
            final ByteBuffer set = RawChannel.frame(MessageType.KV_SET, (short) 0, 2, w -> w.putByte(0).putByte(0)
                .putByte(0).putInt(0).putInt(1).putString("truncated-set").putBytes(new byte[100_000]));
            channel.write(set.limit(50_000));
        }
        SystemTests.sleep(200);
        try (var client = SystemTests.connect(worker, Transport.AUTO))
        {
            assertEquals(List.of(false), client.kv().exist(List.of("truncated-set")), "half a KV_SET was executed");
        }
    }

    // ------------------------------------------------------------------ HELLO

    @BothSockets
    void helloWithAnotherProtocolVersionIsAnsweredWithVersionMismatch(final Socket socket)
    {
        for (final int version : new int[] {MessageType.PROTOCOL_VERSION + 1, 0, -1, 999})
        {
            try (RawChannel channel = open(socket))
            {
                final long id = channel.send(MessageType.HELLO, w -> w.putInt(version).putLong(1).putLong(0)
                    .putBoolean(false));
                final Frame frame = assertAnswered(channel, id, StatusCode.CLIENT_WORKER_VERSION_MISMATCH,
                    "HELLO version " + version);
                assertEquals(MessageType.HELLO, frame.type());
                assertTrue(frame.errorMessage().contains(String.valueOf(version)), frame.errorMessage());
                // the connection stays open: a HELLO with the right version then succeeds
                final Frame ok = assertInstanceOf(Frame.class, channel.hello());
                assertEquals(0, ok.status(), ok.errorMessage());
                assertStillOpen(channel, "HELLO after a version mismatch");
            }
        }
    }

    @BothSockets
    void aSecondHelloClosesTheConnection(final Socket socket)
    {
        try (RawChannel channel = openWithHello(socket))
        {
            channel.hello();
            assertClosed(channel, "second HELLO");
        }
    }

    // ------------------------------------------------------------------ after HELLO

    @BothSockets
    void anUnknownMessageTypeClosesTheConnection(final Socket socket)
    {
        for (final short type : new short[] {999, -1, 3, 14, 22, 33})
        {
            try (RawChannel channel = openWithHello(socket))
            {
                channel.send(type, w -> w.putInt(1).putLong(2));
                assertClosed(channel, "message type " + type);
            }
        }
    }

    @BothSockets
    void countsLargerThanTheFrameCloseTheConnection(final Socket socket)
    {
        final List<Consumer<RawChannel>> requests = List.of(
            c -> c.send(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1_000_000)),
            c -> c.send(MessageType.KV_GET, w -> w.putLong(0).putBoolean(true).putInt(-1)),
            c -> c.send(MessageType.KV_EXIST, w -> w.putInt(Integer.MAX_VALUE)),
            c -> c.send(MessageType.KV_DELETE, w -> w.putInt(1_000_000).putString("a")),
            c -> c.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1_000_000)),
            c -> c.send(MessageType.KV_PUBLISH, w -> w.putInt(1_000_000)),
            c -> c.send(MessageType.RELEASE, w -> w.putInt(1_000_000)),
            c -> c.send(MessageType.KV_ABORT, w -> w.putInt(-5)));
        for (int i = 0; i < requests.size(); i++)
        {
            try (RawChannel channel = openWithHello(socket))
            {
                requests.get(i).accept(channel);
                assertClosed(channel, "request " + i + " with a count its frame cannot hold");
            }
        }
    }

    @BothSockets
    void fieldsThatDoNotFitTheFrameCloseTheConnection(final Socket socket)
    {
        final List<Consumer<RawChannel>> requests = List.of(
            c -> c.send(MessageType.KV_GET, w -> w.putLong(0)),
            c -> c.send(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1).putInt(500)),
            c -> c.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1)
                .putString("k").putInt(-1)),
            c -> c.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1)
                .putString("k").putInt(1 << 30)),
            c -> c.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1)
                .putInt(-7)),
            c -> c.send(MessageType.KV_EXPIRE, w -> w.putByte(0).putByte(0)));
        for (int i = 0; i < requests.size(); i++)
        {
            try (RawChannel channel = openWithHello(socket))
            {
                requests.get(i).accept(channel);
                assertClosed(channel, "request " + i + " with a field beyond its frame");
            }
        }
    }

    @BothSockets
    void wellFormedButUnacceptableRequestsAreAnsweredWithTheirStatus(final Socket socket)
    {
        try (RawChannel channel = openWithHello(socket))
        {
            final String tooLong = "k".repeat(1025);
            // a bad key in KV_SET fails only its item
            long id = channel.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(2)
                .putString(tooLong).putBytes(new byte[] {1}).putString("raw-ok").putBytes(new byte[] {2}));
            Frame frame = assertAnswered(channel, id, StatusCode.OK, "KV_SET with a 1025-char key");
            final ByteBuffer body = frame.body();
            assertEquals(1, body.getInt(4), "one failed key");
            assertEquals(1025, body.getInt(8));
            assertEquals(StatusCode.INVALID.value(), body.getInt(12 + 1025), "failed key's status");

            id = channel.send(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1).putString("a/b"));
            assertAnswered(channel, id, StatusCode.INVALID, "KV_GET of a bad key");
            id = channel.send(MessageType.KV_EXIST, w -> w.putInt(2).putString("ok").putString("caf\u00e9"));
            assertAnswered(channel, id, StatusCode.INVALID, "KV_EXIST of a non-ASCII key");
            id = channel.send(MessageType.KV_GET, w ->
            {
                w.putLong(0).putBoolean(false).putInt(10_001);
                for (int i = 0; i < 10_001; i++)
                {
                    w.putString("k" + i);
                }
            });
            assertAnswered(channel, id, StatusCode.INVALID, "KV_GET of 10,001 keys");
            id = channel.send(MessageType.KV_SET, w ->
            {
                w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(2000);
                for (int i = 0; i < 2000; i++)
                {
                    w.putString("raw-2000-" + i).putBytes(new byte[] {1});
                }
            });
            assertAnswered(channel, id, StatusCode.INVALID, "KV_SET of 2000 keys");
            id = channel.send(MessageType.KV_DELETE, w -> w.putInt(0));
            assertAnswered(channel, id, StatusCode.INVALID, "KV_DELETE of 0 keys");
            id = channel.send(MessageType.KV_SET, w -> w.putByte(99).putByte(0).putByte(0).putInt(0).putInt(1)
                .putString("raw-mode").putBytes(new byte[] {1}));
            assertAnswered(channel, id, StatusCode.INVALID, "write mode 99");
            id = channel.send(MessageType.KV_SET, w -> w.putByte(0).putByte(7).putByte(0).putInt(0).putInt(1)
                .putString("raw-existence").putBytes(new byte[] {1}));
            assertAnswered(channel, id, StatusCode.INVALID, "existence 7");
            id = channel.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(-1).putInt(1)
                .putString("raw-ttl").putBytes(new byte[] {1}));
            assertAnswered(channel, id, StatusCode.INVALID, "negative ttl");
            id = channel.send(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(1).putInt(0).putInt(1)
                .putString("raw-disk").putBytes(new byte[] {1}));
            assertAnswered(channel, id, StatusCode.NOT_SUPPORTED, "cache type DISK");
            id = channel.send(MessageType.KV_CREATE, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1)
                .putString("raw-create").putLong(10));
            assertAnswered(channel, id, StatusCode.NOT_SUPPORTED, "KV_CREATE without shared memory");
            id = channel.send(MessageType.KV_PUBLISH, w -> w.putInt(1).putLong(123_456_789L));
            frame = assertAnswered(channel, id, StatusCode.OK, "KV_PUBLISH of an unknown buffer");
            assertEquals(1, frame.body().getInt(4), "the unknown buffer is a failed item");
            // RELEASE and KV_ABORT of unknown ids are ignored, and no-reply frames get no reply
            channel.write(RawChannel.frame(MessageType.RELEASE, FrameHeader.FLAG_NO_REPLY, 900,
                w -> w.putInt(2).putLong(1).putLong(-1)));
            channel.write(RawChannel.frame(MessageType.KV_ABORT, FrameHeader.FLAG_NO_REPLY, 901,
                w -> w.putInt(1).putLong(77)));
            assertStillOpen(channel, "RELEASE and KV_ABORT of unknown ids");
        }
        try (var client = SystemTests.connect(worker, Transport.AUTO))
        {
            assertEquals(List.of(true, false, false, false, false, false), client.kv().exist(List.of("raw-ok",
                "raw-2000-0", "raw-mode", "raw-existence", "raw-ttl", "raw-disk")));
            client.kv().delete("raw-ok");
        }
    }

    @Test
    void theUnixSocketIsInTheConfiguredDirectory()
    {
        assertTrue(Files.exists(unixSocket()), unixSocket() + " missing");
        assertTrue(unixSocket().getFileName().toString().endsWith(".sock"), unixSocket().toString());
    }

    @Test
    void manyBadConnectionsAtOnceLeaveTheWorkerServing() throws Exception
    {
        final List<Thread> threads = new java.util.ArrayList<>();
        final java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic
            .AtomicReference<>();
        for (int t = 0; t < 8; t++)
        {
            final int n = t;
            threads.add(Thread.ofPlatform().start(() ->
            {
                try
                {
                    for (int i = 0; i < 20; i++)
                    {
                        try (RawChannel channel = n % 2 == 0 ? RawChannel.tcp(worker.host(), worker.port())
                            : RawChannel.unix(unixSocket()))
                        {
                            channel.write(randomBytes(n * 1000L + i, 1 + (i * 7919) % 70_000));
                            if (i % 3 == 0)
                            {
                                channel.readUntilClosed(READ_TIMEOUT_MS);
                            }
                        }
                    }
                }
                catch (final Throwable e)
                {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (final Thread thread : threads)
        {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
        if (failure.get() != null)
        {
            fail("a garbage sender failed", failure.get());
        }
    }
}
