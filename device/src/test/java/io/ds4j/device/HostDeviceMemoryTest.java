package io.ds4j.device;

import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostDeviceMemoryTest
{
    private final HostDeviceMemory memory = new HostDeviceMemory(4);
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close()
    {
        memory.close();
        arena.close();
    }

    private MemorySegment pattern(final int size, final int seed)
    {
        final MemorySegment segment = arena.allocate(size);
        for (int i = 0; i < size; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed));
        }
        return segment;
    }

    @Test
    void copiesRoundTripThroughDeviceMemory()
    {
        final long a = memory.malloc(1, 4096);
        final long b = memory.malloc(1, 4096);
        final MemorySegment source = pattern(4096, 7);
        memory.copyHostToDevice(1, source, a);
        memory.copyDeviceToDevice(1, b, a, 4096);
        final MemorySegment back = arena.allocate(4096);
        memory.copyDeviceToHost(1, b, back);
        assertArrayEquals(source.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
        memory.free(1, a);
        memory.free(1, b);
        assertEquals(0, memory.liveRegions());
    }

    @Test
    void gatherAndScatterKeepFragmentOrder()
    {
        final long[] fragments = {memory.malloc(0, 100), memory.malloc(0, 1), memory.malloc(0, 4000)};
        final long[] sizes = {100, 1, 4000};
        final long stream = memory.createStream(0);
        final MemorySegment source = pattern(4101, 3);
        memory.scatter(0, source, fragments, sizes, 3, stream);
        final MemorySegment back = arena.allocate(4101);
        memory.gather(0, fragments, sizes, 3, back, stream);
        memory.synchronizeStream(0, stream);
        assertArrayEquals(source.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
        final MemorySegment second = arena.allocate(1);
        memory.copyDeviceToHost(0, fragments[1], second);
        assertEquals(source.get(ValueLayout.JAVA_BYTE, 100), second.get(ValueLayout.JAVA_BYTE, 0));
        memory.destroyStream(0, stream);
    }

    @Test
    void aPointerOutsideEveryAllocationIsRefusedNotFollowed()
    {
        final long a = memory.malloc(0, 64);
        final MemorySegment host = arena.allocate(65);
        final DeviceException tooLong = assertThrows(DeviceException.class, () -> memory.copyDeviceToHost(0, a, host));
        assertEquals(StatusCode.INVALID, tooLong.code());
        assertThrows(DeviceException.class, () -> memory.copyHostToDevice(0, host.asSlice(0, 8), 12345));
        // the right pointer on the wrong device
        assertThrows(DeviceException.class, () -> memory.copyDeviceToHost(1, a, host.asSlice(0, 64)));
        assertThrows(DeviceException.class, () -> memory.malloc(4, 64));
        memory.free(0, a);
        assertThrows(DeviceException.class, () -> memory.free(0, a));
    }

    @Test
    void anIpcHandleOpensTheSameBytesAtAnInteriorOffset()
    {
        final long a = memory.malloc(2, 8192);
        memory.copyHostToDevice(2, pattern(8192, 11), a);
        final IpcMemHandle handle = memory.ipcHandle(2, a + 1000);
        assertEquals(1000, handle.offset());
        assertTrue(HostIpcHandle.isHostHandle(handle.bytes()));
        final HostIpcHandle.Fields fields = HostIpcHandle.decode(handle.bytes());
        assertEquals(ProcessHandle.current().pid(), fields.pid());
        assertEquals(8192, fields.size());
        assertEquals(2, fields.device());
        assertEquals(handle, memory.ipcHandle(2, a + 1000), "one allocation, one handle");

        final long opened = memory.openIpcHandle(3, handle);
        final long target = memory.malloc(3, 500);
        memory.copyDeviceToDevice(3, target, opened + handle.offset(), 500);
        final MemorySegment back = arena.allocate(500);
        memory.copyDeviceToHost(3, target, back);
        assertArrayEquals(pattern(8192, 11).asSlice(1000, 500).toArray(ValueLayout.JAVA_BYTE),
            back.toArray(ValueLayout.JAVA_BYTE));
        // writes through the opened mapping are the allocator's bytes
        memory.copyHostToDevice(3, pattern(16, 99), opened);
        final MemorySegment first = arena.allocate(16);
        memory.copyDeviceToHost(2, a, first);
        assertArrayEquals(pattern(16, 99).toArray(ValueLayout.JAVA_BYTE), first.toArray(ValueLayout.JAVA_BYTE));
        memory.closeIpcHandle(3, opened);
        memory.free(3, target);
        memory.free(2, a);
    }

    @Test
    void aHandleOfAGoneProcessSaysSo()
    {
        final byte[] bytes = HostIpcHandle.encode(new HostIpcHandle.Fields(3, Integer.MAX_VALUE - 7, 0, 4096, 0, 1));
        final DeviceException gone = assertThrows(DeviceException.class,
            () -> memory.openIpcHandle(0, new IpcMemHandle(bytes, 0)));
        assertEquals(StatusCode.NOT_FOUND, gone.code());
        assertTrue(gone.getMessage().contains("is gone"), gone.getMessage());
    }

    @Test
    void aFreedAllocationCannotBeOpened()
    {
        final long a = memory.malloc(0, 4096);
        final IpcMemHandle handle = memory.ipcHandle(0, a);
        memory.free(0, a);
        final DeviceException freed = assertThrows(DeviceException.class, () -> memory.openIpcHandle(0, handle));
        assertEquals(StatusCode.NOT_FOUND, freed.code());
    }

    @Test
    void aCudaHandleIsNotMistakenForAHostOne()
    {
        final byte[] cuda = new byte[IpcMemHandle.LENGTH];
        cuda[0] = 1;
        assertFalse(HostIpcHandle.isHostHandle(cuda));
        assertThrows(DeviceException.class, () -> memory.openIpcHandle(0, new IpcMemHandle(cuda, 0)));
    }

    @Test
    void eventsOfTheHostAreDoneWhenRecorded()
    {
        final long stream = memory.createStream(1);
        final long event = memory.createEvent(1);
        memory.recordEvent(1, event, stream);
        assertTrue(memory.eventDone(1, event));
        memory.synchronizeEvent(1, event);
        memory.destroyEvent(1, event);
        assertThrows(DeviceException.class, () -> memory.eventDone(1, event));
        assertThrows(DeviceException.class, () -> memory.synchronizeStream(0, stream));
    }
}
