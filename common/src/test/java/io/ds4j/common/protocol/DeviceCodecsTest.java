package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceCodecsTest
{
    private static DeviceObjectDescriptor descriptor(final int blobs)
    {
        final List<DeviceObjectDescriptor.Blob> list = new ArrayList<>();
        for (int i = 0; i < blobs; i++)
        {
            final byte[] handle = new byte[64];
            Arrays.fill(handle, (byte) (i + 1));
            list.add(new DeviceObjectDescriptor.Blob(handle, 4096L * i, 0x7f00_0000_0000L + i, 1000 + i));
        }
        return new DeviceObjectDescriptor("boot/pid:[1]", 4242, 3, list);
    }

    @Test
    void devMsetCarriesEveryBlobOfEveryKey()
    {
        final BodyWriter out = Frames.request(MessageType.DEV_MSET);
        DevMsetCodec.writeRequest(out, DevMsetCodec.ONE_SHOT, List.of(new DevMsetCodec.Item("a", descriptor(2)),
            new DevMsetCodec.Item("b", descriptor(1))));
        final BodyReader in = Frames.read(out);
        assertEquals(DevMsetCodec.ONE_SHOT, DevMsetCodec.readFlags(in));
        final List<DevMsetCodec.Item> items = DevMsetCodec.readItems(in);
        assertEquals(2, items.size());
        final DeviceObjectDescriptor a = items.getFirst().descriptor();
        assertEquals("boot/pid:[1]", a.hostId());
        assertEquals(4242, a.producerPid());
        assertEquals(3, a.device());
        assertEquals(2, a.blobs().size());
        assertArrayEquals(descriptor(2).blobs().get(1).handle(), a.blobs().get(1).handle());
        assertEquals(4096, a.blobs().get(1).offset());
        assertEquals(0x7f00_0000_0001L, a.blobs().get(1).devPtr());
        assertEquals(1001, a.blobs().get(1).size());
        assertEquals(2001, a.totalSize());
        assertEquals(0, in.remaining());
    }

    @Test
    void devMgetAnswersFoundAndMissingEntries()
    {
        final BodyWriter request = Frames.request(MessageType.DEV_MGET);
        DevMgetCodec.writeRequest(request, DevMgetCodec.SUBSCRIBE, 500, List.of("x", "y"));
        final BodyReader in = Frames.read(request);
        assertEquals(DevMgetCodec.SUBSCRIBE, DevMgetCodec.readFlags(in));
        assertEquals(500, DevMgetCodec.readSubTimeoutMs(in));
        final List<String> keys = new ArrayList<>();
        DevMgetCodec.readKeys(in, keys);
        assertEquals(List.of("x", "y"), keys);

        final BodyWriter reply = Frames.reply(MessageType.DEV_MGET);
        DevMgetCodec.writeEntryCount(reply, 2);
        DevMgetCodec.writeFound(reply, 99, descriptor(1));
        DevMgetCodec.writeMissing(reply, StatusCode.CLIENT_WORKER_DISCONNECT, "producer ended");
        final BodyReader answer = Frames.readReply(reply);
        assertEquals(2, DevMgetCodec.readEntryCount(answer, 2));
        final DevMgetCodec.Entry found = DevMgetCodec.readEntry(answer);
        assertTrue(found.found());
        assertEquals(99, found.producerClientId());
        final DevMgetCodec.Entry missing = DevMgetCodec.readEntry(answer);
        assertFalse(missing.found());
        assertEquals(StatusCode.CLIENT_WORKER_DISCONNECT, missing.status());
        assertEquals("producer ended", missing.message());
    }

    @Test
    void devStagePairsTravelBothWays()
    {
        final BodyWriter out = Frames.request(MessageType.DEV_STAGE);
        DevStageCodec.writePairs(out, List.of(new DevStageCodec.Pair("k", "ds4j-staging.r.0")));
        final List<DevStageCodec.Pair> pairs = DevStageCodec.readPairs(Frames.read(out), false);
        assertEquals(List.of(new DevStageCodec.Pair("k", "ds4j-staging.r.0")), pairs);

        final BodyWriter none = Frames.reply(MessageType.DEV_SERVE);
        DevStageCodec.writePairs(none, List.of());
        assertEquals(List.of(), DevStageCodec.readPairs(Frames.readReply(none), true));
        final BodyWriter empty = Frames.request(MessageType.DEV_STAGE);
        DevStageCodec.writePairs(empty, List.of());
        assertThrows(ProtocolException.class, () -> DevStageCodec.readPairs(Frames.read(empty), false));
    }

    @Test
    void devDeleteRefusesAnUnknownMode()
    {
        final BodyWriter out = Frames.request(MessageType.DEV_DELETE);
        DevDeleteCodec.writeRequest(out, 7, List.of("k"));
        assertThrows(ProtocolException.class, () -> DevDeleteCodec.readMode(Frames.read(out)));
    }

    @Test
    void aDescriptorWithoutBlobsOrWithANegativeSizeIsMalformed()
    {
        final BodyWriter none = Frames.request(MessageType.DEV_MSET);
        none.putByte(0).putInt(1).putString("k").putString("h").putLong(1).putInt(0).putInt(0);
        final BodyReader in = Frames.read(none);
        DevMsetCodec.readFlags(in);
        assertThrows(ProtocolException.class, () -> DevMsetCodec.readItems(in));

        final BodyWriter negative = Frames.request(MessageType.DEV_MSET);
        negative.putByte(0).putInt(1).putString("k").putString("h").putLong(1).putInt(0).putInt(1);
        for (int i = 0; i < 64; i++)
        {
            negative.putByte(0);
        }
        negative.putLong(0).putLong(0).putLong(-1);
        final BodyReader bad = Frames.read(negative);
        DevMsetCodec.readFlags(bad);
        assertThrows(ProtocolException.class, () -> DevMsetCodec.readItems(bad));
    }

    @Test
    void batchesOverTenThousandKeysAreRefused()
    {
        final List<String> many = new ArrayList<>();
        for (int i = 0; i < 10_001; i++)
        {
            many.add("k" + i);
        }
        final BodyWriter out = Frames.request(MessageType.DEV_DELETE);
        DevDeleteCodec.writeRequest(out, DevDeleteCodec.GLOBAL, many);
        final BodyReader in = Frames.read(out);
        DevDeleteCodec.readMode(in);
        assertThrows(DsException.class, () -> DevDeleteCodec.readKeys(in, new ArrayList<>()));
    }
}
