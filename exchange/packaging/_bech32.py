"""Encode and decode BIP 173 bech32 strings, as used for age keys."""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for index, generator in enumerate(_GENERATORS):
            if (top >> index) & 1:
                checksum ^= generator
    return checksum


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator, bits, out = 0, 0, []
    max_value = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_value)
    if pad and bits:
        out.append((accumulator << (to_bits - bits)) & max_value)
    elif not pad and (bits >= from_bits or (accumulator << (to_bits - bits)) & max_value):
        raise ValueError("bech32 data has invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Return the lower-case bech32 string of data under the human-readable part."""
    words = _convert(data, 8, 5, pad=True)
    checksum = _polymod([*_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    words += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words)


def decode(text: str, hrp: str) -> bytes:
    """Return the bytes of a bech32 string; raise ValueError if it is not valid for hrp."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32 string mixes upper and lower case")
    text = text.lower()
    prefix, _, body = text.rpartition("1")
    if prefix != hrp.lower() or len(body) < 6 or any(c not in _CHARSET for c in body):
        raise ValueError("not a bech32 string with the expected prefix")
    words = [_CHARSET.index(c) for c in body]
    if _polymod([*_expand(prefix), *words]) != 1:
        raise ValueError("bech32 checksum does not match")
    return bytes(_convert(words[:-6], 5, 8, pad=False))
