import { measure } from './tmp-load.bench.ts';

console.log(JSON.stringify(await measure({ quick: false } as never), null, 1));
