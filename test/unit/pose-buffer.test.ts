/** The room page's interpolation of others' poses (web/scene/pose-buffer.ts). */
import { describe, expect, it } from 'vitest';
import { angleDelta, PoseBuffer } from '../../web/scene/pose-buffer.js';

const pose = (x: number, yaw = 0) => ({ x, y: 0, z: 0, yaw, pitch: 0 });

describe('PoseBuffer', () => {
  it('draws 100 ms behind, interpolating between the poses around that time', () => {
    const buffer = new PoseBuffer(100);
    expect(buffer.sample(0)).toBeNull();
    buffer.push(1000, pose(0));
    buffer.push(1066, pose(1));
    buffer.push(1133, pose(2));
    expect(buffer.sample(1050)).toEqual(pose(0));
    expect(buffer.sample(1133)!.x).toBeCloseTo(0.5, 5);
    expect(buffer.sample(1199.5)!.x).toBeCloseTo(1.5, 5);
    expect(buffer.isMoving(1199.5)).toBe(true);
    // Past the newest pose it holds there: no guessing ahead.
    expect(buffer.sample(5000)).toEqual(pose(2));
    expect(buffer.isMoving(5000)).toBe(false);
    expect(buffer.latest).toEqual(pose(2));
  });

  it('turns the short way round', () => {
    const buffer = new PoseBuffer(0);
    buffer.push(0, pose(0, Math.PI - 0.1));
    buffer.push(100, pose(0, -Math.PI + 0.1));
    const half = buffer.sample(50)!.yaw;
    expect(Math.abs(Math.abs(half) - Math.PI)).toBeLessThan(1e-9);
    expect(angleDelta(0.1, -0.1)).toBeCloseTo(-0.2, 9);
    expect(angleDelta(3, -3)).toBeCloseTo(2 * Math.PI - 6, 9);
  });

  it('keeps a bounded history and clamps times that go backwards', () => {
    const buffer = new PoseBuffer(0);
    for (let i = 0; i < 100; i++) buffer.push(i * 10, pose(i));
    buffer.push(500, pose(1000));
    expect(buffer.sample(990)).toEqual(pose(1000));
    // Only the newest 16 poses are kept: before them, the oldest kept is drawn.
    expect(buffer.sample(0)).toEqual(pose(85));
  });
});
