package io.ds4j.common;

import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyRulesTest
{
    @Test
    void acceptsTheUpstreamCharacterSet()
    {
        assertTrue(KeyRules.isValid("req-42:0_1"));
        assertTrue(KeyRules.isValid("a.b-c_d!e@f#g%h^i*j(k)l+m=n:o;p"));
        assertTrue(KeyRules.isValid("ABCxyz0123456789"));
    }

    @Test
    void rejectsCharactersOutsideTheRegex()
    {
        for (final String key : List.of("a b", "a/b", "a~b", "a$b", "a&b", "é", "a\nb", "a\u0000"))
        {
            assertFalse(KeyRules.isValid(key), key);
        }
        final DsException e = assertThrows(DsException.class, () -> KeyRules.check("a/b"));
        assertEquals(StatusCode.INVALID, e.code());
        assertTrue(e.getMessage().contains("'/' at index 1"), e.getMessage());
    }

    @Test
    void lengthIsOneTo1024()
    {
        assertFalse(KeyRules.isValid(""));
        assertFalse(KeyRules.isValid(null));
        assertTrue(KeyRules.isValid("k".repeat(1024)));
        assertFalse(KeyRules.isValid("k".repeat(1025)));
    }

    @Test
    void batchLimitsAreTheUpstreams()
    {
        assertDoesNotThrow(() -> KeyRules.checkSetBatch(Collections.nCopies(1999, "k")));
        assertEquals(StatusCode.INVALID, assertThrows(DsException.class,
            () -> KeyRules.checkSetBatch(Collections.nCopies(2000, "k"))).code());
        assertDoesNotThrow(() -> KeyRules.checkReadBatch(Collections.nCopies(10_000, "k")));
        assertEquals(StatusCode.INVALID, assertThrows(DsException.class,
            () -> KeyRules.checkReadBatch(Collections.nCopies(10_001, "k"))).code());
        assertThrows(DsException.class, () -> KeyRules.checkReadBatch(List.of()));
    }
}
