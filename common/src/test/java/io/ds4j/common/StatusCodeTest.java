package io.ds4j.common;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatusCodeTest
{
    @Test
    void keepsTheUpstreamNumbers()
    {
        assertEquals(0, StatusCode.OK.value());
        assertEquals(2, StatusCode.INVALID.value());
        assertEquals(3, StatusCode.NOT_FOUND.value());
        assertEquals(6, StatusCode.OUT_OF_MEMORY.value());
        assertEquals(13, StatusCode.NO_SPACE.value());
        assertEquals(23, StatusCode.CLIENT_WORKER_DISCONNECT.value());
        assertEquals(28, StatusCode.CLIENT_WORKER_VERSION_MISMATCH.value());
        assertEquals(1001, StatusCode.RPC_DEADLINE_EXCEEDED.value());
        assertEquals(2006, StatusCode.BUFFER_DEPRECATED.value());
        assertEquals(5002, StatusCode.FUTURE_TIMEOUT.value());
    }

    @Test
    void numbersAreUniqueAndRoundTrip()
    {
        final Set<Integer> seen = new HashSet<>();
        for (final StatusCode code : StatusCode.values())
        {
            assertTrue(seen.add(code.value()), "duplicate " + code.value());
            assertEquals(code, StatusCode.of(code.value()));
        }
        assertEquals(StatusCode.UNKNOWN_ERROR, StatusCode.of(4242));
    }

    @Test
    void exceptionMessageNamesTheCode()
    {
        final DsException e = new DsException(StatusCode.NOT_FOUND, "key k does not exist");
        assertEquals("[NOT_FOUND(3)] key k does not exist", e.getMessage());
        assertEquals("key k does not exist", e.detail());
    }
}
