import { filledIn } from '../options';

describe('filledIn', () => {
  it('drops empty fields, so the server applies its defaults', () => {
    expect(filledIn({ cpus: '2', memory: ' ', disk: '' })).toEqual({ cpus: '2' });
  });
  it('trims what the user typed', () => {
    expect(filledIn({ memory: ' 4GB ' })).toEqual({ memory: '4GB' });
  });
});
