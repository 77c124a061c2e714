package io.ds4j.common.protocol;

import io.ds4j.common.KeyRules;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code DEV_MSET} (docs/protocol.md 5.23): registers device objects whose bytes stay on the producer's device.
 * Request: a flags byte ({@link #ONE_SHOT}: a {@code devPublish}, deleted once a subscriber received it), a count
 * (1..10,000), then per key the key and its {@link DeviceObjectDescriptor}. Reply: a failed-keys body (a key that
 * exists fails with OC_KEY_ALREADY_EXIST: device objects are never overwritten, as upstream).
 */
public final class DevMsetCodec
{
    public static final int ONE_SHOT = 1;
    private static final int MIN_ITEM_BYTES = 4 + 4 + 8 + 4 + 4;

    /** One key and its descriptor. */
    public record Item(String key, DeviceObjectDescriptor descriptor)
    {
    }

    private DevMsetCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final int flags, final List<Item> items)
    {
        out.putByte(flags).putInt(items.size());
        for (final Item item : items)
        {
            out.putString(item.key());
            item.descriptor().write(out);
        }
    }

    /** The flags byte; then {@link #readItems}. */
    public static int readFlags(final BodyReader in)
    {
        return in.getByte();
    }

    /** @throws ProtocolException for a count outside 1..10,000 or a malformed descriptor */
    public static List<Item> readItems(final BodyReader in)
    {
        final int count = in.getCount(MIN_ITEM_BYTES, KeyRules.MAX_READ_BATCH);
        if (count == 0)
        {
            throw new ProtocolException("DEV_MSET without keys");
        }
        final List<Item> items = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            items.add(new Item(in.getString(), DeviceObjectDescriptor.read(in)));
        }
        return items;
    }
}
