package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FragmentLayoutTest
{
    @Test
    void theHeaderIsTheDocumentedBytes()
    {
        final long[] sizes = {1 << 20, 73_728, 1};
        final MemorySegment object = MemorySegment.ofArray(new byte[(int) FragmentLayout.objectSize(sizes, 3)]);
        FragmentLayout.write(object, sizes, 3);
        final ValueLayout.OfLong le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        assertEquals('D', object.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals('S', object.get(ValueLayout.JAVA_BYTE, 1));
        assertEquals('F', object.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals('L', object.get(ValueLayout.JAVA_BYTE, 3));
        assertEquals(1, object.get(ValueLayout.JAVA_BYTE, 4));
        assertEquals(3, object.get(ValueLayout.JAVA_BYTE, 8));
        assertEquals(64, object.get(le, 16), "24 + 3 x 8 = 48 bytes of header, rounded up to 64");
        assertEquals(1 << 20, object.get(le, 24));
        assertEquals(73_728, object.get(le, 32));
        assertEquals(1, object.get(le, 40));
        assertEquals(64 + (1 << 20) + 73_728 + 1, object.byteSize());
        assertEquals(64, FragmentLayout.check(object, sizes, 3, "k"));
        assertArrayEquals(sizes, FragmentLayout.sizes(object, "k"));
    }

    @Test
    void dataStartsOnACacheLine()
    {
        assertEquals(64, FragmentLayout.dataOffset(1));
        assertEquals(64, FragmentLayout.dataOffset(5));
        assertEquals(128, FragmentLayout.dataOffset(6));
        assertEquals(576, FragmentLayout.dataOffset(62), "the DeepSeek shape: 24 + 62 x 8 = 520 bytes, rounded up");
        assertEquals(0, FragmentLayout.dataOffset(62) % 64);
    }

    @Test
    void otherFragmentsThanStoredAreRefusedWithTheReason()
    {
        final long[] sizes = {100, 200};
        final MemorySegment object = MemorySegment.ofArray(new byte[(int) FragmentLayout.objectSize(sizes, 2)]);
        FragmentLayout.write(object, sizes, 2);
        final DsException fewer = assertThrows(DsException.class,
            () -> FragmentLayout.check(object, new long[] {300}, 1, "k"));
        assertTrue(fewer.getMessage().contains("stored as 2 fragments"), fewer.getMessage());
        final DsException other = assertThrows(DsException.class,
            () -> FragmentLayout.check(object, new long[] {100, 199}, 2, "k"));
        assertTrue(other.getMessage().contains("fragment 1"), other.getMessage());
        assertEquals(StatusCode.INVALID, other.code());
    }

    @Test
    void aPlainValueOrATruncatedOneIsNotMistakenForALayout()
    {
        final DsException plain = assertThrows(DsException.class,
            () -> FragmentLayout.check(MemorySegment.ofArray("hello world, not a layout".getBytes()), new long[] {1},
                1, "k"));
        assertTrue(plain.getMessage().contains("not set by msetD2H"), plain.getMessage());
        final long[] sizes = {100};
        final MemorySegment object = MemorySegment.ofArray(new byte[(int) FragmentLayout.objectSize(sizes, 1)]);
        FragmentLayout.write(object, sizes, 1);
        final DsException truncated = assertThrows(DsException.class,
            () -> FragmentLayout.check(object.asSlice(0, object.byteSize() - 1), sizes, 1, "k"));
        assertEquals(StatusCode.DATA_INCONSISTENCY, truncated.code());
    }

    @Test
    void fragmentCountsAreBounded()
    {
        assertThrows(DsException.class, () -> FragmentLayout.objectSize(new long[0], 0));
        assertThrows(DsException.class, () -> FragmentLayout.objectSize(new long[70_000],
            FragmentLayout.MAX_FRAGMENTS + 1));
    }
}
