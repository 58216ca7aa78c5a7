import { describe, expect, it } from 'vitest';
import { parsePlatformSettings } from '../../functions/core/platform.ts';

describe('platform settings', () => {
  it('defaults the pod network to 10.244.0.0/16', () => {
    expect(parsePlatformSettings().podCidr).toBe('10.244.0.0/16');
  });

  it.each(['999.1.1.1/40', '10.0.0.0/33', '10.0.0/8', '10.0.0.0', 'fd00::/8'])('rejects the pod CIDR %s', (cidr) => {
    const result = () => parsePlatformSettings({ podCidr: cidr });
    expect(result).toThrow(/podCidr/);
  });

  it('rejects a malformed blocked egress CIDR, naming its position', () => {
    expect(() => parsePlatformSettings({ blockedEgressCidrs: ['10.0.0.0/16', '999.1.1.1/40'] })).toThrow(
      /blockedEgressCidrs[\s\S]*1/,
    );
  });

  it('accepts well-formed CIDRs', () => {
    const settings = parsePlatformSettings({ podCidr: '10.245.0.0/24', blockedEgressCidrs: ['169.254.0.0/16'] });
    expect(settings.podCidr).toBe('10.245.0.0/24');
    expect(settings.blockedEgressCidrs).toEqual(['169.254.0.0/16']);
  });
});
