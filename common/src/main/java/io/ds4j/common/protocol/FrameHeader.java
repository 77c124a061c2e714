package io.ds4j.common.protocol;

/**
 * The one frame header of every channel (client to worker over TCP or a Unix socket; later worker to worker).
 * Specified in docs/protocol.md; all fields little-endian.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                 frame length (header + body)                  |  0
 * +-------------------------------+-------------------------------+
 * |         message type          |             flags             |  4
 * +-------------------------------+-------------------------------+
 * |                        correlation id                         |  8
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                         body ...                              | 16
 * </pre>
 */
public final class FrameHeader
{
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int FLAGS_OFFSET = 6;
    public static final int CORRELATION_OFFSET = 8;
    public static final int HEADER_LENGTH = 16;

    /** The frame answers the request with the same correlation id; its body starts with a status word. */
    public static final short FLAG_RESPONSE = 0x1;
    /** The sender expects no response (releases, aborts). */
    public static final short FLAG_NO_REPLY = 0x2;

    /** A client's limit until HELLO tells it the worker's (which is at least this, sized to the pool). */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 64 << 20;
    /** The hard ceiling: a frame length is an int, and a Java array holds at most this many bytes. */
    public static final int ABSOLUTE_MAX_FRAME_LENGTH = Integer.MAX_VALUE - 8;

    private FrameHeader()
    {
    }
}
