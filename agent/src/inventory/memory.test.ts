/**
 * Memory modules on every platform: the placeholders firmware and tools print for an unknown maker, part number or
 * serial all become '' (one unknown never differs from another in a diff or a fleet query), real values survive.
 */
import { describe, expect, it } from 'vitest';
import { parseMemoryDarwin } from './memory.darwin.js';
import { parseDmidecodeMemory } from './memory.linux.js';
import { parseMemoryWindows } from './memory.win32.js';
import { knownOrEmpty } from './probe.js';

describe('unknown hardware values', () => {
  it('maps the usual placeholders to empty and keeps real values', () => {
    for (const v of ['', ' ', '-', 'Unknown', 'NOT SPECIFIED', 'None', 'N/A', '0x0000', '00000000', 'SerNum0']) {
      expect(knownOrEmpty(v), v).toBe('');
    }
    for (const v of ['PartNum3', 'Manufacturer1', 'ModuleSerialNumber02', '[Empty]', 'NO DIMM', null, undefined]) {
      expect(knownOrEmpty(v), String(v)).toBe('');
    }
    for (const v of ['46A1B2D4', 'Samsung', 'M425R1GB4BB0-CQKOL', '0x2A3B4C5D', '80CE000080CE', 'Unknownium', '0A']) {
      expect(knownOrEmpty(v), v).toBe(v);
    }
    expect(knownOrEmpty('  Micron  ')).toBe('Micron');
  });

  it('dmidecode: BIOS template strings are not a maker, part number or serial', () => {
    const text = [
      'Handle 0x0011, DMI type 17, 40 bytes',
      'Memory Device',
      '\tSize: 8 GB',
      '\tLocator: DIMM 0',
      '\tType: DDR4',
      '\tSpeed: 2667 MT/s',
      '\tManufacturer: Manufacturer0',
      '\tSerial Number: SerNum0',
      '\tPart Number: PartNum0',
      '',
      'Handle 0x0012, DMI type 17, 40 bytes',
      'Memory Device',
      '\tSize: 16 GB',
      '\tLocator: DIMM 1',
      '\tType: Unknown',
      '\tManufacturer: Samsung',
      '\tSerial Number: 00000000',
      '\tPart Number: M471A2K43DB1-CWE    ',
      '',
    ].join('\n');
    expect(parseDmidecodeMemory(text)).toEqual([
      expect.objectContaining({ slot: 'DIMM 0', type: 'DDR4', manufacturer: '', serial: '', part_number: '' }),
      expect.objectContaining({
        slot: 'DIMM 1',
        type: '',
        manufacturer: 'Samsung',
        serial: '',
        part_number: 'M471A2K43DB1-CWE',
      }),
    ]);
  });

  it('Windows: a virtual machine’s zero serial and "Unknown" maker are empty', () => {
    const rows = parseMemoryWindows({
      TotalPhysicalMemory: 4294967296,
      Modules: [
        {
          DeviceLocator: 'DIMM 0',
          Capacity: 4294967296,
          Manufacturer: 'Unknown',
          PartNumber: ' ',
          SerialNumber: '00000000',
        },
      ],
      PageFiles: [],
    });
    expect(rows[1]).toMatchObject({ manufacturer: '', part_number: '', serial: '' });
  });

  it('macOS: system_profiler’s "-" and "0x0000" are empty; a real serial stays', () => {
    const rows = parseMemoryDarwin('hw.memsize: 8589934592\nvm.swapusage: total = 0.00M  used = 0.00M  free = 0.00M', {
      SPMemoryDataType: [
        {
          _items: [
            { _name: 'BANK 0/DIMM0', dimm_size: '4 GB', dimm_manufacturer: '0x0000', dimm_serial_number: '-' },
            { _name: 'BANK 1/DIMM0', dimm_size: '4 GB', dimm_manufacturer: '0x80AD', dimm_serial_number: '0x2A3B4C5D' },
          ],
        },
      ],
    });
    expect(rows.slice(1)).toEqual([
      expect.objectContaining({ slot: 'BANK 0/DIMM0', manufacturer: '', serial: '' }),
      expect.objectContaining({ slot: 'BANK 1/DIMM0', manufacturer: '0x80AD', serial: '0x2A3B4C5D' }),
    ]);
  });
});
