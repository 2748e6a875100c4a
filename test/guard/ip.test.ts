import { describe, expect, it } from 'vitest'
import { ipKey, networkKey } from '../../src/guard/ip.js'

describe('the address a per-IP limit counts', () => {
  it('keeps an IPv4 address, written without leading zeros', () => {
    expect(ipKey('203.0.113.7')).toBe('203.0.113.7')
    expect(ipKey('203.000.113.007')).toBe('203.0.113.7')
  })

  it('counts an IPv6 address by its /64, however it is written', () => {
    const key = '2001:db8:1:2::/64'
    for (const address of [
      '2001:db8:1:2:3:4:5:6',
      '2001:0DB8:0001:0002:ffff::1',
      '2001:db8:1:2::',
      '2001:db8:1:2::9%eth0',
      '2001:db8:1:2:0:0:1.2.3.4',
    ]) {
      expect(ipKey(address), address).toBe(key)
    }
    expect(ipKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(ipKey('::1')).toBe('0:0:0:0::/64')
  })

  it('reads an IPv4-mapped IPv6 address as the IPv4 client it is, its last 32 bits dotted or in hex', () => {
    for (const address of [
      '::ffff:203.0.113.7',
      '0:0:0:0:0:ffff:203.0.113.7',
      '::FFFF:cb00:7107',
      '0:0:0:0:0:ffff:cb00:7107',
      '::ffff:203.0.113.7%eth0',
    ]) {
      expect(ipKey(address), address).toBe('203.0.113.7')
    }
    expect(ipKey('::ffff:0:1')).toBe('0.0.0.1')
    // Only ::ffff:0:0/96 is mapped: a neighbour of it is an IPv6 address like any other.
    expect(ipKey('::fffe:cb00:7107')).toBe('0:0:0:0::/64')
    expect(ipKey('1::ffff:cb00:7107')).toBe('1:0:0:0::/64')
  })

  it('puts anything that is no address into one shared counter', () => {
    for (const value of [
      'unknown',
      '203.0.113.256',
      '203.0.113',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::1',
      '[2001:db8::1]',
      'g::1',
      '::ffff:1.2.3.4:5',
      '1.2.3.4::',
      '203.0.113.7%eth0',
      '',
    ]) {
      expect(ipKey(value), value).toBe('other')
    }
  })
})

describe('the network a per-network limit counts', () => {
  it('counts an IPv6 address by its /48, however it is written', () => {
    const key = '2001:db8:1::/48'
    for (const address of [
      '2001:db8:1:2:3:4:5:6',
      '2001:0DB8:0001:ffff::1',
      '2001:db8:1::',
      '2001:db8:1::9%eth0',
      '2001:db8:1:0:0:0:1.2.3.4',
    ]) {
      expect(networkKey(address), address).toBe(key)
    }
    expect(networkKey('2001:db8:2::1')).toBe('2001:db8:2::/48')
    expect(networkKey('::1')).toBe('0:0:0::/48')
  })

  it('does not count IPv4, an IPv4-mapped address included, nor anything that is no address', () => {
    for (const value of [
      '203.0.113.7',
      '::ffff:203.0.113.7',
      '::ffff:cb00:7107',
      'unknown',
      '1::2::3',
      '[2001:db8::1]',
    ]) {
      expect(networkKey(value), value).toBeUndefined()
    }
  })
})
