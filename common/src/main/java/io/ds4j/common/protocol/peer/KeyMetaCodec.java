package io.ds4j.common.protocol.peer;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * A {@link KeyMeta} inside a peer body (docs/protocol.md 13.2): version (long), size (long), write mode (byte),
 * consistency (byte), expiry in epoch ms (long, 0 = none), primary address (string).
 */
public final class KeyMetaCodec
{
    private KeyMetaCodec()
    {
    }

    public static void write(final BodyWriter out, final KeyMeta meta)
    {
        out.putLong(meta.version()).putLong(meta.size()).putByte(meta.writeMode().value())
            .putByte(meta.consistency().value()).putLong(meta.expiresAtMs()).putString(meta.primary());
    }

    public static KeyMeta read(final BodyReader in)
    {
        final long version = in.getLong();
        final long size = in.getLong();
        if (size < 0)
        {
            throw new ProtocolException("negative size " + size + " in key metadata");
        }
        final WriteMode mode = WriteMode.of(in.getByte());
        final ConsistencyType consistency = ConsistencyType.of(in.getByte());
        return new KeyMeta(version, size, mode, consistency, in.getLong(), in.getString());
    }
}
