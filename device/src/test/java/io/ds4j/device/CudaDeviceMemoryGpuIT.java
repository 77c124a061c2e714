package io.ds4j.device;

import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link CudaDeviceMemory} on a real GPU; every test skips, with the probe's reason, where none is found. */
class CudaDeviceMemoryGpuIT
{
    private static DeviceMemory memory;
    private static String noGpu;

    @BeforeAll
    static void probe()
    {
        final DeviceMemories.Choice choice = DeviceMemories.probeCuda();
        if (choice.memory().isAccelerator())
        {
            memory = choice.memory();
        }
        else
        {
            noGpu = choice.reason();
            choice.memory().close();
        }
    }

    @AfterAll
    static void close()
    {
        if (memory != null)
        {
            memory.close();
        }
    }

    @BeforeEach
    void needsAGpu()
    {
        assumeTrue(memory != null, () -> "no GPU: " + noGpu);
    }

    private static MemorySegment pattern(final Arena arena, final int size, final int seed)
    {
        final MemorySegment segment = arena.allocate(size, 4096);
        for (int i = 0; i < size; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed));
        }
        return segment;
    }

    @Test
    void copiesRoundTripThroughTheGpu()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final long a = memory.malloc(0, 1 << 20);
            final long b = memory.malloc(0, 1 << 20);
            final MemorySegment source = pattern(arena, 1 << 20, 3);
            memory.copyHostToDevice(0, source, a);
            memory.copyDeviceToDevice(0, b, a, 1 << 20);
            final MemorySegment back = arena.allocate(1 << 20);
            memory.copyDeviceToHost(0, b, back);
            assertArrayEquals(source.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
            // a heap segment goes through a staging buffer
            final byte[] heap = new byte[1 << 20];
            memory.copyDeviceToHost(0, a, MemorySegment.ofArray(heap));
            assertArrayEquals(source.toArray(ValueLayout.JAVA_BYTE), heap);
            memory.free(0, a);
            memory.free(0, b);
        }
    }

    @Test
    void gatherAndScatterOnAStreamFromPinnedMemory()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final long base = memory.malloc(0, 3 * 65_536);
            final long[] fragments = {base, base + 65_536, base + 2 * 65_536};
            final long[] sizes = {65_536, 1000, 65_536};
            final MemorySegment source = pattern(arena, 132_072, 5);
            memory.registerHost(source);
            final long stream = memory.createStream(0);
            memory.scatter(0, source, fragments, sizes, 3, stream);
            final MemorySegment back = arena.allocate(132_072, 4096);
            memory.gather(0, fragments, sizes, 3, back, stream);
            assertArrayEquals(source.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
            final long event = memory.createEvent(0);
            memory.copyHostToDeviceAsync(0, source.asSlice(0, 65_536), base, stream);
            memory.recordEvent(0, event, stream);
            memory.synchronizeEvent(0, event);
            assertTrue(memory.eventDone(0, event));
            memory.destroyEvent(0, event);
            memory.destroyStream(0, stream);
            memory.unregisterHost(source);
            memory.free(0, base);
        }
    }

    @Test
    void anIpcHandleIsTheCudaOneWithTheOffsetOfAnInteriorPointer()
    {
        final long base = memory.malloc(0, 1 << 20);
        final IpcMemHandle handle = memory.ipcHandle(0, base + 4096);
        assertEquals(4096, handle.offset());
        memory.free(0, base);
    }

    @Test
    void aBadPointerFailsWithTheCudaErrorName()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final DeviceException e = assertThrows(DeviceException.class,
                () -> memory.copyDeviceToHost(0, 0x10, arena.allocate(64)));
            assertEquals(StatusCode.CUDA_ERROR, e.code());
            assertTrue(e.cudaErrorName().startsWith("cudaError"), e.getMessage());
        }
    }
}
