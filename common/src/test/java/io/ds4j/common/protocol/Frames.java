package io.ds4j.common.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Frames built in memory for codec tests: what one side writes, read back as the other side would. */
final class Frames
{
    private Frames()
    {
    }

    static BodyWriter request(final short type)
    {
        return new BodyWriter(256).begin(type, (short) 0, 7);
    }

    static BodyWriter reply(final short type)
    {
        return new BodyWriter(256).beginResponse(type, 7, StatusCodec.OK);
    }

    /** A reader over the finished frame, at the start of its body. */
    static BodyReader read(final BodyWriter out)
    {
        final ByteBuffer frame = out.finish().frame();
        final BodyReader in = new BodyReader();
        in.wrap(frame, MemorySegment.ofBuffer(frame), 0, frame.limit());
        return in;
    }

    /** A reader over a finished response, past its status word (which must be OK). */
    static BodyReader readReply(final BodyWriter out)
    {
        final BodyReader in = read(out);
        StatusCodec.readStatus(in);
        return in;
    }

    /** A reader over a request body written by hand, field by field, as a hostile or old peer would. */
    static BodyReader raw(final short type, final Consumer<BodyWriter> body)
    {
        final BodyWriter out = request(type);
        body.accept(out);
        return read(out);
    }

    /** The frame's bytes after the header. */
    static byte[] body(final BodyWriter out)
    {
        final ByteBuffer frame = out.finish().frame();
        final byte[] bytes = new byte[frame.limit() - FrameHeader.HEADER_LENGTH];
        frame.get(FrameHeader.HEADER_LENGTH, bytes);
        return bytes;
    }

    /** The codec writes exactly the bytes of the field sequence the protocol document gives. */
    static void assertSameBody(final Consumer<BodyWriter> byHand, final Consumer<BodyWriter> codec)
    {
        final BodyWriter expected = request(MessageType.KV_SET);
        byHand.accept(expected);
        final BodyWriter actual = request(MessageType.KV_SET);
        codec.accept(actual);
        assertArrayEquals(body(expected), body(actual));
    }

    static byte[] bytes(final MemorySegment segment)
    {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }
}
