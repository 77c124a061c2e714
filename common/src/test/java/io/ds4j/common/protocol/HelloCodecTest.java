package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ds4j.common.protocol.Frames.assertSameBody;
import static io.ds4j.common.protocol.Frames.raw;
import static io.ds4j.common.protocol.Frames.read;
import static io.ds4j.common.protocol.Frames.readReply;
import static io.ds4j.common.protocol.Frames.reply;
import static io.ds4j.common.protocol.Frames.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** HELLO (docs/protocol.md 5.1) and the value kinds. */
class HelloCodecTest
{
    @Test
    void helloRoundTripsRequestAndReply()
    {
        final HelloCodec.Request hello = new HelloCodec.Request(4242, 1_700_000_000_000L, 99, true);
        final BodyWriter out = request(MessageType.HELLO);
        HelloCodec.writeRequest(out, hello);
        assertEquals(hello, HelloCodec.readRequest(read(out)));
        assertSameBody(w -> w.putInt(MessageType.PROTOCOL_VERSION).putLong(1).putLong(2).putLong(0).putBoolean(false),
            w -> HelloCodec.writeRequest(w, new HelloCodec.Request(1, 2, 0, false)));

        final HelloCodec.Reply answer = new HelloCodec.Reply(99, 123_456, 777, "127.0.0.1:31501",
            "/tmp/ds4j-127.0.0.1_31501.sock", 512_000, 1000, 120, 5, 64 << 20, true,
            List.of(new HelloCodec.Segment(0, "/dev/shm/ds4j-x-0", 1L << 30)));
        final BodyWriter replied = reply(MessageType.HELLO);
        HelloCodec.writeReply(replied, answer);
        assertEquals(answer, HelloCodec.readReply(readReply(replied)));
        assertSameBody(w -> w.putLong(1).putLong(2).putLong(3).putString("a").putString("").putInt(4).putInt(5)
            .putInt(6).putInt(7).putInt(8).putBoolean(false).putInt(0), w -> HelloCodec.writeReply(w,
                new HelloCodec.Reply(1, 2, 3, "a", "", 4, 5, 6, 7, 8, false, List.of())));
    }

    @Test
    void anotherProtocolVersionIsRefusedWhateverFollows()
    {
        final DsException e = assertThrows(DsException.class,
            () -> HelloCodec.readRequest(raw(MessageType.HELLO, w -> w.putInt(2))));
        assertEquals(StatusCode.CLIENT_WORKER_VERSION_MISMATCH, e.code());
        assertEquals("client speaks protocol 2, this worker speaks 1; use a matching ds4j client", e.detail());
        // the right version with a short body is a protocol error
        assertThrows(ProtocolException.class, () -> HelloCodec.readRequest(raw(MessageType.HELLO,
            w -> w.putInt(MessageType.PROTOCOL_VERSION).putLong(1))));
    }

    @Test
    void aReplyNamesAtMost1024Segments()
    {
        final BodyWriter out = reply(MessageType.HELLO);
        out.putLong(1).putLong(2).putLong(3).putString("a").putString("").putInt(4).putInt(5).putInt(6).putInt(7)
            .putInt(8).putBoolean(true).putInt(1025);
        for (int i = 0; i < 1025; i++)
        {
            out.putInt(i).putString("p").putLong(1);
        }
        assertThrows(ProtocolException.class, () -> HelloCodec.readReply(readReply(out)));
    }

    @Test
    void valueKindsHaveTheirWireBytes()
    {
        assertEquals(0, ValueKind.MISSING.wire());
        assertEquals(1, ValueKind.INLINE.wire());
        assertEquals(2, ValueKind.POOL_VIEW.wire());
        for (final ValueKind kind : ValueKind.values())
        {
            assertSame(kind, ValueKind.of(kind.wire()));
        }
        assertThrows(ProtocolException.class, () -> ValueKind.of(3));
        assertThrows(ProtocolException.class, () -> ValueKind.of(255));
    }
}
