package io.ds4j.common.protocol;

import java.util.List;

/**
 * {@code DEV_DELETE} (docs/protocol.md 5.25): removes device objects. Request: a mode byte, then a key list
 * (1..10,000). Modes: {@link #GLOBAL} ({@code devDelete}: whoever registered it), {@link #LOCAL}
 * ({@code devLocalDelete}: only objects this client registered; others' are left and not failures), {@link #RECEIVED}
 * (a subscriber's receipt of one-shot objects: removes them and wakes their publisher's DEV_AWAIT). Reply: a
 * failed-keys body; a key that does not exist is not a failure.
 */
public final class DevDeleteCodec
{
    public static final int GLOBAL = 0;
    public static final int LOCAL = 1;
    public static final int RECEIVED = 2;

    private DevDeleteCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final int mode, final List<String> keys)
    {
        out.putByte(mode);
        BatchCodec.writeKeys(out, keys);
    }

    /** @throws ProtocolException for an unknown mode */
    public static int readMode(final BodyReader in)
    {
        final int mode = in.getByte();
        if (mode != GLOBAL && mode != LOCAL && mode != RECEIVED)
        {
            throw new ProtocolException("DEV_DELETE mode " + mode + " is not 0, 1 or 2");
        }
        return mode;
    }

    public static void readKeys(final BodyReader in, final List<String> keys)
    {
        BatchCodec.readKeys(in, keys);
    }
}
