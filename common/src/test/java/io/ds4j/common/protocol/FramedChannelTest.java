package io.ds4j.common.protocol;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FramedChannelTest
{
    private ServerSocketChannel server;
    private SocketChannel clientSocket;
    private FramedChannel sender;
    private FramedChannel receiver;

    @BeforeEach
    void connect() throws IOException
    {
        server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        clientSocket = SocketChannel.open(server.getLocalAddress());
        sender = new FramedChannel(clientSocket, FrameHeader.DEFAULT_MAX_FRAME_LENGTH);
        receiver = new FramedChannel(server.accept(), 1 << 20);
    }

    @AfterEach
    void close() throws IOException
    {
        sender.close();
        receiver.close();
        server.close();
    }

    @Test
    void roundTripsEveryFieldType() throws IOException
    {
        final byte[] blob = new byte[70_000];
        blob[69_999] = 9;
        sender.writer().begin(MessageType.KV_SET, (short) 0, 77).putByte(200).putBoolean(true).putInt(-5)
            .putLong(Long.MIN_VALUE).putString("key:ä").putString(null).putBytes(blob).putBytes((byte[]) null)
            .putBytes(MemorySegment.ofArray(new byte[] {1, 2, 3}));
        sender.send();
        final BodyReader in = receiver.receive();
        assertEquals(MessageType.KV_SET, in.type());
        assertEquals(77, in.correlationId());
        assertFalse(in.isResponse());
        assertTrue(in.expectsReply());
        assertEquals(200, in.getByte());
        assertTrue(in.getBoolean());
        assertEquals(-5, in.getInt());
        assertEquals(Long.MIN_VALUE, in.getLong());
        assertEquals("key:ä", in.getString());
        assertNull(in.getString());
        assertArrayEquals(blob, in.getBytes());
        assertNull(in.getBytes());
        assertArrayEquals(new byte[] {1, 2, 3}, in.getBytesInPlace().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        assertEquals(0, in.remaining());
    }

    @Test
    void framesSentBackToBackAreReadOneByOne() throws IOException
    {
        for (int i = 0; i < 50; i++)
        {
            sender.writer().begin(MessageType.RELEASE, FrameHeader.FLAG_NO_REPLY, i).putInt(i).putBytes(new byte[i * 100]);
            sender.send();
        }
        for (int i = 0; i < 50; i++)
        {
            final BodyReader in = receiver.receive();
            assertEquals(i, in.correlationId());
            assertFalse(in.expectsReply());
            assertEquals(i, in.getInt());
            assertEquals(i * 100, in.getBytes().length);
        }
    }

    @Test
    void lengthBeyondTheLimitIsRejected() throws IOException
    {
        clientSocket.write(header(Integer.MAX_VALUE, MessageType.HELLO));
        assertThrows(ProtocolException.class, receiver::receive);
    }

    @Test
    void lengthShorterThanTheHeaderIsRejected() throws IOException
    {
        clientSocket.write(header(3, MessageType.HELLO));
        assertThrows(ProtocolException.class, receiver::receive);
    }

    @Test
    void fieldLengthsAreCheckedAgainstTheFrame() throws IOException
    {
        sender.writer().begin(MessageType.KV_GET, (short) 0, 1).putInt(1_000_000);
        sender.send();
        final BodyReader in = receiver.receive();
        assertThrows(ProtocolException.class, () -> in.getCount(4, Integer.MAX_VALUE));
        sender.writer().begin(MessageType.KV_GET, (short) 0, 2).putInt(Integer.MAX_VALUE);
        sender.send();
        assertThrows(ProtocolException.class, receiver.receive()::getBytes);
        sender.writer().begin(MessageType.KV_GET, (short) 0, 3).putInt(-7);
        sender.send();
        assertThrows(ProtocolException.class, receiver.receive()::getString);
    }

    @Test
    void closeMidFrameIsAnEofNotAHang() throws IOException
    {
        final ByteBuffer partial = header(100, MessageType.KV_SET);
        clientSocket.write(partial);
        clientSocket.close();
        final EOFException e = assertThrows(EOFException.class, receiver::receive);
        assertTrue(e.getMessage().contains("middle of a frame"), e.getMessage());
    }

    @Test
    void largeFrameGrowsTheBufferAndShrinkGivesItBack() throws IOException
    {
        final byte[] big = new byte[900_000];
        sender.writer().begin(MessageType.KV_SET, (short) 0, 1).putBytes(big);
        sender.send();
        assertEquals(big.length, receiver.receive().getBytes().length);
        receiver.shrinkIfLarge();
        sender.writer().begin(MessageType.HEARTBEAT, (short) 0, 2);
        sender.send();
        assertEquals(2, receiver.receive().correlationId());
    }

    private static ByteBuffer header(final int length, final short type)
    {
        final ByteBuffer header = ByteBuffer.allocate(FrameHeader.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(length).putShort(type).putShort((short) 0).putLong(1).flip();
        return header;
    }
}
