package io.ds4j.worker.store.spill;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The on-disk format of one spill record (see {@code docs/spill-layout.md}): a fixed 40-byte header, the key in
 * UTF-8, zero padding up to the data offset, then the value bytes. The header names the key, version, length and
 * CRC32C of the data, so a record can be identified from the file alone when debugging; the store itself never
 * parses headers back (it keeps every record's location in memory and does not recover spill files).
 *
 * <pre>
 * offset  size  field
 *   0      4    magic            0x31535344 ("DSS1" as little-endian bytes)
 *   4      2    format version   1
 *   6      2    flags            bit 0: the record is alone in its own file (obj-&lt;n&gt;.dat)
 *   8      4    key length       bytes of UTF-8
 *  12      4    data offset      from the record start: align(40 + key length, 8 or 4096)
 *  16      8    version          the object's version
 *  24      8    data length      bytes of value
 *  32      4    data CRC32C      of the value bytes
 *  36      4    header CRC32C    of bytes 0..35 followed by the key bytes
 *  40      k    key
 *  40+k    ..   zero padding up to the data offset
 * </pre>
 * All integers are little-endian. Records in a pack file start at multiples of {@value #PACK_ALIGNMENT}; the data of
 * a record in its own file starts at a multiple of {@value #OWN_FILE_DATA_ALIGNMENT}, page aligned for large reads.
 */
final class SpillRecord
{
    /** "DSS1" read as a little-endian int. */
    static final int MAGIC = 0x31535344;

    /** Bumped when the layout changes. */
    static final short FORMAT_VERSION = 1;

    /** Flag bit: the record is the only one in its file. */
    static final short FLAG_OWN_FILE = 1;

    /** Bytes of the fixed header. */
    static final int HEADER_SIZE = 40;

    /** Alignment of record starts (and of data within a record) in pack files. */
    static final int PACK_ALIGNMENT = 8;

    /** Alignment of the data of a record alone in its file. */
    static final int OWN_FILE_DATA_ALIGNMENT = 4096;

    /** Longest key accepted, in UTF-8 bytes. */
    static final int MAX_KEY_BYTES = 65535;

    private SpillRecord()
    {
    }

    /** Rounds {@code value} up to a multiple of {@code alignment} (a power of two). */
    static long align(final long value, final long alignment)
    {
        return (value + alignment - 1) & -alignment;
    }

    /** The data offset of a record with a key of {@code keyLength} bytes. */
    static int dataOffset(final int keyLength, final boolean ownFile)
    {
        return (int) align(HEADER_SIZE + (long) keyLength, ownFile ? OWN_FILE_DATA_ALIGNMENT : PACK_ALIGNMENT);
    }

    /** The header, key and padding of a record (everything before the data), ready to be written. */
    static ByteBuffer encodeHead(final byte[] key, final long version, final long dataLength, final int dataCrc,
                                 final boolean ownFile)
    {
        final int dataOffset = dataOffset(key.length, ownFile);
        final ByteBuffer head = ByteBuffer.allocateDirect(dataOffset).order(ByteOrder.LITTLE_ENDIAN);
        head.putInt(0, MAGIC);
        head.putShort(4, FORMAT_VERSION);
        head.putShort(6, ownFile ? FLAG_OWN_FILE : 0);
        head.putInt(8, key.length);
        head.putInt(12, dataOffset);
        head.putLong(16, version);
        head.putLong(24, dataLength);
        head.putInt(32, dataCrc);
        head.put(HEADER_SIZE, key);
        head.putInt(36, headerCrc(head, key.length));
        return head;
    }

    private static int headerCrc(final ByteBuffer head, final int keyLength)
    {
        final CRC32C crc = new CRC32C();
        crc.update(head.slice(0, 36));
        crc.update(head.slice(HEADER_SIZE, keyLength));
        return (int) crc.getValue();
    }

    /**
     * Reads and checks the header of the record at {@code offset}: for debugging and tests; the store does not
     * call it.
     *
     * @throws IOException when the file is short or the magic, format version or header CRC is wrong
     */
    static Header readHeader(final FileChannel channel, final long offset) throws IOException
    {
        final ByteBuffer fixed = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, fixed, offset);
        if (fixed.getInt(0) != MAGIC)
        {
            throw new IOException("not a spill record at offset " + offset + ": bad magic 0x"
                + Integer.toHexString(fixed.getInt(0)));
        }
        if (fixed.getShort(4) != FORMAT_VERSION)
        {
            throw new IOException("spill record at offset " + offset + " has unknown format " + fixed.getShort(4));
        }
        final int keyLength = fixed.getInt(8);
        if (keyLength < 0 || keyLength > MAX_KEY_BYTES)
        {
            throw new IOException("spill record at offset " + offset + " has bad key length " + keyLength);
        }
        final ByteBuffer whole = ByteBuffer.allocate(HEADER_SIZE + keyLength).order(ByteOrder.LITTLE_ENDIAN);
        whole.put(fixed.flip());
        readFully(channel, whole, offset + HEADER_SIZE);
        final byte[] key = new byte[keyLength];
        whole.get(HEADER_SIZE, key);
        if (headerCrc(whole, keyLength) != whole.getInt(36))
        {
            throw new IOException("corrupt spill record header at offset " + offset);
        }
        return new Header(new String(key, StandardCharsets.UTF_8), whole.getLong(16), whole.getLong(24),
            whole.getInt(12), whole.getInt(32), (whole.getShort(6) & FLAG_OWN_FILE) != 0);
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer, final long offset)
        throws IOException
    {
        long position = offset;
        while (buffer.hasRemaining())
        {
            final int n = channel.read(buffer, position);
            if (n < 0)
            {
                throw new EOFException("spill file ends inside the record header at offset " + offset);
            }
            position += n;
        }
    }

    /**
     * A decoded record header.
     *
     * @param key the object's key
     * @param version the object's version
     * @param dataLength bytes of value
     * @param dataOffset where the value starts, from the record start
     * @param dataCrc CRC32C of the value
     * @param ownFile whether the record is alone in its file
     */
    record Header(String key, long version, long dataLength, int dataOffset, int dataCrc, boolean ownFile)
    {
    }
}
