/** The "Additional options" component: see src/form/AdvancedOptions.tsx. */
export { AdvancedOptions } from './form/AdvancedOptions';
