/**
 * The simulations a node offers rooms: the built-in ones and the modules an
 * operator names in `HUBMESH_SIM_MODULES` (paths to ES modules exporting a
 * SimulationModule as `simulation` or as the default export). A module that
 * cannot be loaded, is not a SimulationModule, or takes a name already taken
 * stops the node at boot, naming the path: a room would otherwise find its
 * simulation silently missing.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppError } from '../errors.js';
import { isSimulationModule, type SimulationModule } from './simulation.js';
import { physics } from './physics.js';
import { wanderer } from './wanderer.js';

export const BUILT_IN_SIMULATIONS: readonly SimulationModule[] = [physics, wanderer];

/** The built-in simulations and those of `spec` (comma-separated paths, relative to the working directory), by name. */
export async function loadSimulationModules(spec: string, builtIns: readonly SimulationModule[] = BUILT_IN_SIMULATIONS): Promise<Map<string, SimulationModule>> {
  const modules = new Map(builtIns.map((m) => [m.name, m]));
  const paths = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const path of paths) {
    let loaded: Record<string, unknown>;
    try {
      loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `HUBMESH_SIM_MODULES: cannot load ${path}`, { cause: err });
    }
    const module = loaded['simulation'] ?? loaded['default'];
    if (!isSimulationModule(module)) throw new AppError('CONFIG_INVALID', `HUBMESH_SIM_MODULES: ${path} exports no SimulationModule (a name of 1-64 letters, digits, - or _, and create()) as \`simulation\` or default`);
    if (modules.has(module.name)) throw new AppError('CONFIG_INVALID', `HUBMESH_SIM_MODULES: ${path} names its simulation "${module.name}", which is taken`);
    modules.set(module.name, module);
  }
  return modules;
}
